// AS numbers as Calico writes them: plain (`64512`) or dotted (`1.10` = 1·65536 + 10).
export const AS_MAX = 4294967295;

/** The AS number, or undefined when the value is not a valid AS. */
export function parseAsn(value: unknown): number | undefined {
  if (typeof value === 'number') {
    return Number.isInteger(value) && value >= 0 && value <= AS_MAX ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const plain = /^\d{1,10}$/.exec(value);
  if (plain) return parseAsn(Number(value));
  const dotted = /^(\d{1,5})\.(\d{1,5})$/.exec(value);
  if (!dotted) return undefined;
  const [hi, lo] = [Number(dotted[1]), Number(dotted[2])];
  return hi <= 65535 && lo <= 65535 ? hi * 65536 + lo : undefined;
}
