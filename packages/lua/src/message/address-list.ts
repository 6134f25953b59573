// Ours, not nodemailer's addressparser (bench/address-list.ts, docs/performance.md): a comment
// is never the display name here (addressparser makes `a@b (c)` the mailbox "c" <a@b>), and it
// takes under half of addressparser's CPU time per header value.

/** One mailbox of an address header: display name (decoded) and address. */
export interface Mailbox {
  readonly name: string | null;
  readonly address: string;
}

/**
 * Splits an address-list header value (`From`, `To`, `Cc`…; already unfolded and RFC 2047
 * decoded) into mailboxes: `Name <a@b>`, `"Last, First" <a@b>`, bare `a@b`, comments, and
 * groups (`team: a@b, c@d;`, flattened). Lenient, as header parsing for policies should be.
 */
export function parseAddressList(value: string): Mailbox[] {
  const out: Mailbox[] = [];
  for (const part of splitTopLevel(value)) {
    let text = part.trim();
    const group = /^[^"<>@,]*?:(.*?);?\s*$/s.exec(text);
    if (group && !text.startsWith('"') && !/^[^:]*@/.test(text.split(':')[0] ?? '')) {
      out.push(...parseAddressList(group[1] ?? ''));
      continue;
    }
    text = stripComments(text).trim();
    if (text === '') continue;
    const angle = /^(.*)<([^>]*)>\s*$/s.exec(text);
    if (angle) {
      const name = unquote(angle[1]!.trim());
      out.push({ name: name === '' ? null : name, address: angle[2]!.trim() });
    } else {
      out.push({ name: null, address: text });
    }
  }
  return out;
}

/** Splits on commas outside quotes, angle brackets and comments (and group colons). */
function splitTopLevel(value: string): string[] {
  const parts: string[] = [];
  let depth = 0;
  let quoted = false;
  let angle = false;
  let inGroup = false;
  let start = 0;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\') {
      i++;
      continue;
    }
    if (quoted) {
      if (c === '"') quoted = false;
      continue;
    }
    if (c === '"') quoted = true;
    else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (c === '<') angle = true;
    else if (c === '>') angle = false;
    else if (depth === 0 && !angle) {
      if (c === ':') inGroup = true;
      else if (c === ';') inGroup = false;
      else if (c === ',' && !inGroup) {
        parts.push(value.slice(start, i));
        start = i + 1;
      }
    }
  }
  parts.push(value.slice(start));
  return parts;
}

function stripComments(text: string): string {
  let out = '';
  let depth = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      out += c;
      if (c === '\\') out += text[++i] ?? '';
      else if (c === '"') quoted = false;
    } else if (c === '"' && depth === 0) {
      quoted = true;
      out += c;
    } else if (c === '(') depth++;
    else if (c === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += c;
  }
  return out;
}

function unquote(text: string): string {
  if (text.startsWith('"') && text.endsWith('"') && text.length >= 2) {
    return text.slice(1, -1).replace(/\\(.)/g, '$1');
  }
  return text;
}
