/**
 * Where a JSON text stops being valid: the offset of the first character a JSON parser cannot
 * accept (the text's length when it ends too early), or undefined when the text is valid.
 * `JSON.parse` says where only on some Node versions; this gives every version the same answer.
 */
export function jsonErrorOffset(text: string): number | undefined {
  let at = 0;
  const space = () => {
    while (at < text.length && ' \t\r\n'.includes(text[at]!)) at++;
  };
  const fail = (): never => {
    throw at;
  };
  const expect = (c: string) => {
    if (text[at] !== c) fail();
    at++;
  };
  const string = () => {
    expect('"');
    while (at < text.length && text[at] !== '"') {
      const c = text.charCodeAt(at);
      if (c < 0x20) fail();
      if (text[at] === '\\') {
        at++;
        if (text[at] === 'u') {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(at + 1, at + 5))) fail();
          at += 4;
        } else if (!'"\\/bfnrt'.includes(text[at] ?? 'x')) fail();
      }
      at++;
    }
    expect('"');
  };
  const value = (): void => {
    space();
    const c = text[at];
    if (c === '{') {
      at++;
      space();
      if (text[at] === '}') return void at++;
      for (;;) {
        space();
        string();
        space();
        expect(':');
        value();
        space();
        if (text[at] === ',') at++;
        else {
          expect('}');
          return;
        }
      }
    }
    if (c === '[') {
      at++;
      space();
      if (text[at] === ']') return void at++;
      for (;;) {
        value();
        space();
        if (text[at] === ',') at++;
        else {
          expect(']');
          return;
        }
      }
    }
    if (c === '"') {
      string();
      return;
    }
    const word = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?)/.exec(
      text.slice(at),
    );
    if (!word) fail();
    at += word![0].length;
  };
  try {
    value();
    space();
    if (at < text.length) fail();
    return undefined;
  } catch (offset) {
    if (typeof offset === 'number') return offset;
    throw offset;
  }
}
