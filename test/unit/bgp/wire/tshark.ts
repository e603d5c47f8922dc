// Reads the text of `tshark -V -Y bgp` into one record per BGP message, so the codec's
// decode can be checked against Wireshark's, field by field.

export interface TsharkMessage {
  /** "10.10.0.1:56721>10.10.0.2:179" */
  direction: string;
  frame: number;
  type: string;
  length: number;
  /** "Path Attribute - NAME: VALUE" lines; MP_* have an empty value. */
  attributes: Map<string, string>;
  /** Other "Key: value" lines of the message (last one wins). */
  fields: Map<string, string>;
  /** Every "Key: value" line, in order, for repeated keys (capabilities, AS numbers). */
  all: [string, string][];
  announced: string[];
  withdrawn: string[];
}

export function parseTshark(text: string): TsharkMessage[] {
  const out: TsharkMessage[] = [];
  let frame = 0;
  let src = '';
  let dst = '';
  let direction = '';
  let current: TsharkMessage | undefined;
  let section: 'announced' | 'withdrawn' | undefined;
  for (const line of text.split('\n')) {
    let m: RegExpExecArray | null;
    if ((m = /^Frame (\d+):/.exec(line))) {
      frame = Number(m[1]);
      current = undefined;
    } else if ((m = /^Internet Protocol Version 4, Src: ([\d.]+), Dst: ([\d.]+)/.exec(line))) {
      [src, dst] = [m[1]!, m[2]!];
    } else if ((m = /^Transmission Control Protocol, Src Port: (\d+), Dst Port: (\d+)/.exec(line))) {
      direction = `${src}:${m[1]}>${dst}:${m[2]}`;
    } else if ((m = /^Border Gateway Protocol - (\S+) Message/.exec(line))) {
      current = { direction, frame, type: m[1]!, length: 0, attributes: new Map(), fields: new Map(), all: [], announced: [], withdrawn: [] };
      section = undefined;
      out.push(current);
    } else if (current) {
      if ((m = /^ {4}Length: (\d+)$/.exec(line))) current.length = Number(m[1]);
      else if ((m = /^\s+Path Attribute - ([A-Z0-9_]+)(?:: (.*))?$/.exec(line))) current.attributes.set(m[1]!, (m[2] ?? '').trim());
      else if (/^\s+Withdrawn Routes$/.test(line)) section = 'withdrawn';
      else if (/^\s+Network Layer Reachability Information \(NLRI\)$/.test(line)) section = 'announced';
      else if ((m = /^\s+([0-9a-f.:]+\/\d+)$/.exec(line)) && section) current[section].push(m[1]!);
      // "Key: value", also bit fields as in ".... 0000 0111 1000 = Time: 120"
      else if ((m = /^\s+(?:[.01 ]+= )?([^:]+): (.*)$/.exec(line))) {
        current.fields.set(m[1]!.trim(), m[2]!.trim());
        current.all.push([m[1]!.trim(), m[2]!.trim()]);
      }
    }
  }
  return out;
}
