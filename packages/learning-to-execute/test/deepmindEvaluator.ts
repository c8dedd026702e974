// Independent evaluator of the DeepMind program syntax, for the tests: a recursive-descent
// parser over the text (not over the generator's data structures).
//   expr    := 'x=' operand 'for[' digit ']x+=' operand
//            | operand ( ('+' | '-' | '*') operand
//                      | 'if' operand ('<' | '>') operand 'else' operand )?
//   operand := digits | '(' expr ')'

export interface Evaluated {
  value: bigint;
  operations: number;
  literals: string[];
}

export function evaluateDeepMind(text: string): Evaluated {
  let pos = 0;
  let operations = 0;
  const literals: string[] = [];
  const fail = (what: string): never => {
    throw new Error(`parse error at ${pos} in '${text}': expected ${what}`);
  };
  const eat = (s: string): boolean => {
    if (text.startsWith(s, pos)) {
      pos += s.length;
      return true;
    }
    return false;
  };
  const expect = (s: string) => {
    if (!eat(s)) fail(`'${s}'`);
  };
  const operand = (): bigint => {
    if (eat('(')) {
      const v = expr();
      expect(')');
      return v;
    }
    const start = pos;
    while (pos < text.length && text[pos] >= '0' && text[pos] <= '9') pos++;
    if (pos === start) fail('a number or (');
    literals.push(text.slice(start, pos));
    return BigInt(text.slice(start, pos));
  };
  const expr = (): bigint => {
    if (eat('x=')) {
      const a = operand();
      expect('for[');
      const k = BigInt(text[pos++]);
      expect(']x+=');
      const b = operand();
      operations++;
      let x = a;
      for (let i = 0n; i < k; i++) x += b;
      return x;
    }
    const a = operand();
    for (const op of ['+', '-', '*'] as const) {
      if (eat(op)) {
        const b = operand();
        operations++;
        return op === '+' ? a + b : op === '-' ? a - b : a * b;
      }
    }
    if (eat('if')) {
      const b = operand();
      const less = eat('<');
      if (!less) expect('>');
      const c = operand();
      expect('else');
      const d = operand();
      operations++;
      return (less ? b < c : b > c) ? a : d;
    }
    return a;
  };
  const value = expr();
  if (pos !== text.length) fail('end of program');
  return { value, operations, literals };
}
