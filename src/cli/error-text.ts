// The CLI's errors as one line holding the whole text: yargs and some errors span
// several lines ("Invalid values:\n  Argument: output, Given: …"), and keeping only the
// first line lost the part that says what was wrong.

/** Every line of the message, joined: after a colon by a space, otherwise by "; ". */
export function oneLine(text: string): string {
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter(Boolean);
  return lines.reduce((acc, l) => (acc === '' ? l : `${acc}${acc.endsWith(':') ? ' ' : '; '}${l}`), '');
}

export function errorText(err: unknown): string {
  if (typeof err === 'string') return oneLine(err);
  if (err instanceof Error) return oneLine(err.message || err.name);
  return oneLine(String(err));
}
