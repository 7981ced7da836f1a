/** A tiny element builder: h('button', { class: 'primary', onclick }, 'Save'). */
export type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, unknown>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value as EventListener);
    else if (key === 'value' && 'value' in el) (el as HTMLInputElement).value = String(value);
    else if (key === 'checked') (el as HTMLInputElement).checked = Boolean(value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else el.appendChild(typeof child === 'object' ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's children. */
export function render(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

let fieldSeq = 0;
/** A unique id for label/aria wiring. */
export function uid(prefix: string): string {
  fieldSeq += 1;
  return `${prefix}-${fieldSeq}`;
}

/** Ask before something irreversible, in an accessible modal dialog; resolves true on confirm. */
export function confirmDialog(message: string, action = 'Delete'): Promise<boolean> {
  return new Promise((resolve) => {
    const titleId = uid('dlg');
    const dialog = h('dialog', { 'aria-labelledby': titleId },
      h('p', { id: titleId }, message),
      h('div', { class: 'toolbar' },
        h('button', { type: 'button', class: 'danger', onclick: () => close(true) }, action),
        h('button', { type: 'button', onclick: () => close(false) }, 'Cancel')));
    const close = (ok: boolean) => {
      dialog.close();
      dialog.remove();
      resolve(ok);
    };
    dialog.addEventListener('cancel', () => resolve(false));
    document.body.appendChild(dialog);
    dialog.showModal();
    (dialog.querySelector('button:last-child') as HTMLButtonElement).focus();
  });
}

/** A button that copies text to the clipboard and says so. */
export function copyButton(text: string, label: string, visible = 'Copy'): HTMLButtonElement {
  const button: HTMLButtonElement = h('button', {
    type: 'button',
    'aria-label': label,
    onclick: async () => {
      try {
        await navigator.clipboard.writeText(text);
        button.textContent = 'Copied';
      } catch {
        button.textContent = 'Copy failed';
      }
      setTimeout(() => (button.textContent = visible), 1500);
    },
  }, visible);
  return button;
}

/** When an ISO time was, in words a person reads at a glance. */
export function ago(iso: unknown): string {
  if (typeof iso !== 'string') return 'never';
  const s = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return String(iso);
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}
