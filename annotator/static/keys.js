// Keyboard shortcuts as the label scheme writes them ("a", "Ctrl+Enter", "Shift+3"): one
// reading for every module of the annotation page, so a key means the same everywhere.

function parseKey(spec) {
  const parts = spec.split("+");
  const key = parts.pop();
  return { key, ctrl: parts.includes("Ctrl"), alt: parts.includes("Alt"), shift: parts.includes("Shift"), meta: parts.includes("Meta") };
}

/** Whether the keydown `event` is the shortcut `spec`. Letters and digits also match by
 *  physical key (event.code), so they work on other keyboard layouts. */
export function matchesKey(event, spec) {
  const want = parseKey(spec);
  if (event.ctrlKey !== want.ctrl || event.altKey !== want.alt || event.metaKey !== want.meta) return false;
  if (want.shift && !event.shiftKey) return false;
  if (want.key.length === 1) {
    const k = want.key.toLowerCase();
    return event.key.toLowerCase() === k || event.code === `Digit${k}` || event.code === `Key${k.toUpperCase()}`;
  }
  return event.key === want.key;
}
