import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { buildConnector } from 'undici';

/**
 * The outbound (SSRF) policy (issue 10): which addresses the gateway may connect to for
 * gateways, REST tools and token endpoints. Checked on the resolved address at connect time
 * (the connector's DNS lookup, and IP literals before any socket), so a name that resolves to
 * a denied address, also after a DNS rebinding, is refused.
 *
 * UPSTREAM_DENY: CIDRs or host patterns refused (`*.internal`, `10.0.0.0/8`). Link-local
 * (169.254.0.0/16, fe80::/10) and the cloud metadata addresses are always denied unless
 * UPSTREAM_ALLOW lists them. UPSTREAM_ALLOW: when set, only these CIDRs or host patterns.
 */
const ALWAYS_DENIED = ['169.254.0.0/16', 'fe80::/10', 'fd00:ec2::254/128', '100.100.100.200/32', '168.63.129.16/32'];

export class OutboundPolicy {
  private readonly denyNets = new BlockList();
  private readonly allowNets = new BlockList();
  private readonly denyHosts: RegExp[] = [];
  private readonly allowHosts: RegExp[] = [];
  private readonly allowAll: boolean;

  constructor(allow: string[] = [], deny: string[] = []) {
    for (const entry of [...ALWAYS_DENIED, ...deny]) add(entry, this.denyNets, this.denyHosts);
    for (const entry of allow) add(entry, this.allowNets, this.allowHosts);
    this.allowAll = allow.length === 0;
  }

  /** Why a host (a name or an address) is refused, or undefined when it may be used. */
  refusal(host: string): string | undefined {
    const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
    const family = isIP(bare);
    const type = family === 6 ? 'ipv6' : 'ipv4';
    const listedAllow = family ? this.allowNets.check(bare, type) : this.allowHosts.some((r) => r.test(bare));
    if (family ? this.denyNets.check(bare, type) && !listedAllow : this.denyHosts.some((r) => r.test(bare)) && !listedAllow) {
      return `the outbound policy denies ${bare} (UPSTREAM_DENY, or link-local / cloud metadata)`;
    }
    if (family && !this.allowAll && !listedAllow) return `the outbound policy allows only UPSTREAM_ALLOW, not ${bare}`;
    return undefined;
  }

  /** An undici connector that applies the policy to IP literals and to every resolved address. */
  connector(): buildConnector.connector {
    const lookup = (hostname: string, options: object, callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
      const named = this.nameRefusal(hostname);
      if (named) return callback(denied(named), '', 0);
      dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
        if (error) return callback(error, '', 0);
        const list = addresses as LookupAddress[];
        const bad = list.map((a) => this.refusal(a.address)).find((r) => r !== undefined);
        if (bad) return callback(denied(`${bad} (${hostname} resolves to it)`), '', 0);
        if ((options as { all?: boolean }).all) return callback(null, list);
        return callback(null, list[0]!.address, list[0]!.family);
      });
    };
    const base = buildConnector({ lookup } as never);
    return (options, callback) => {
      const host = options.hostname;
      if (isIP(host.replace(/^\[|\]$/g, ''))) {
        const why = this.refusal(host);
        if (why) return callback(denied(why), null);
      }
      return base(options, callback);
    };
  }

  /** Host-pattern checks on a name (addresses are checked after resolution). */
  private nameRefusal(name: string): string | undefined {
    const bare = name.toLowerCase();
    const allowed = this.allowHosts.some((r) => r.test(bare));
    if (this.denyHosts.some((r) => r.test(bare)) && !allowed) return `the outbound policy denies ${bare} (UPSTREAM_DENY)`;
    return undefined;
  }
}

function denied(message: string): NodeJS.ErrnoException {
  const error = new Error(message) as NodeJS.ErrnoException;
  error.code = 'UPSTREAM_DENIED';
  return error;
}

function add(entry: string, nets: BlockList, hosts: RegExp[]): void {
  const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
  if (cidr && isIP(cidr[1]!)) {
    nets.addSubnet(cidr[1]!, Number(cidr[2]), isIP(cidr[1]!) === 6 ? 'ipv6' : 'ipv4');
  } else if (isIP(entry)) {
    nets.addAddress(entry, isIP(entry) === 6 ? 'ipv6' : 'ipv4');
  } else {
    const pattern = entry.toLowerCase().replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[a-z0-9.-]*');
    hosts.push(new RegExp(`^${pattern}$`));
  }
}

/** Parse and check an UPSTREAM_ALLOW / UPSTREAM_DENY value: a comma list of CIDRs, addresses or host patterns. */
export function parsePolicyList(raw: string | undefined, name: string): string[] {
  const entries = (raw ?? '').split(',').map((e) => e.trim()).filter(Boolean);
  for (const entry of entries) {
    const cidr = /^(.+)\/(\d{1,3})$/.exec(entry);
    const ok = cidr ? isIP(cidr[1]!) !== 0 && Number(cidr[2]) <= (isIP(cidr[1]!) === 6 ? 128 : 32) : isIP(entry) !== 0 || /^[a-z0-9*][a-z0-9*.-]*$/i.test(entry);
    if (!ok) throw new Error(`${name} entry "${entry}" is not a CIDR, an address or a host pattern`);
  }
  return entries;
}
