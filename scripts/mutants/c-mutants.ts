// Mutants of the C helper, made mechanically (no one picks them): at every place the rules
// match, outside comments, strings, character constants and #include lines:
//
//   relational   <  <=  >  >=   each to the other three        (not -> << >> or a #include's <>)
//   equality     ==  !=         each to the other
//   logical      &&  ||         each to the other
//   constant     an integer literal n to n+1 and, unless 0, n-1 (#define values included)
//   negate       if (c) / while (c) on one line to if (!(c)) / while (!(c))
//   delete       a line that is a whole statement ending in ';' (not a declaration, not a
//                return, not inside a for header): the line removed
//
// Each mutant is a whole new file text; its id is file:line:column and the change. The list is
// stable while the file is, so results carry over between runs (scripts/mutants/native.ts).

export interface CMutant {
  id: string
  file: string
  line: number
  description: string
  apply: (text: string) => string
}

const RELATIONAL = ['<', '<=', '>', '>=']
const DECLARATION =
  /^(const\s+|static\s+|unsigned\s+|signed\s+|struct\s+\w+\s+[*\w]|enum\s+\w+\s+\w|union\s+\w+\s+\w|(int|char|long|short|size_t|ssize_t|pid_t|uid_t|gid_t|off_t|mode_t|bool|void|double|float|u?int\d+_t|sigset_t|socklen_t)\b)/

/** Blanks out comments, strings and character constants (same length, newlines kept). */
function code(text: string): string {
  let out = ''
  let i = 0
  while (i < text.length) {
    const two = text.slice(i, i + 2)
    if (two === '/*') {
      const end = text.indexOf('*/', i + 2)
      const stop = end < 0 ? text.length : end + 2
      out += text.slice(i, stop).replace(/[^\n]/g, ' ')
      i = stop
    } else if (two === '//') {
      const end = text.indexOf('\n', i)
      const stop = end < 0 ? text.length : end
      out += ' '.repeat(stop - i)
      i = stop
    } else if (text[i] === '"' || text[i] === "'") {
      const quote = text[i]!
      let j = i + 1
      while (j < text.length && text[j] !== quote) j += text[j] === '\\' ? 2 : 1
      out += quote + ' '.repeat(j - i - 1) + quote
      i = j + 1
    } else {
      out += text[i]
      i++
    }
  }
  return out
}

export function cMutants(file: string, text: string): CMutant[] {
  const masked = code(text)
  const lines = masked.split('\n')
  const originalLines = text.split('\n')
  const offsets: number[] = []
  let off = 0
  for (const l of lines) {
    offsets.push(off)
    off += l.length + 1
  }
  const out: CMutant[] = []
  const replaceAt = (line: number, col: number, length: number, by: string, description: string) => {
    const at = offsets[line]! + col
    out.push({
      id: `${file}:${line + 1}:${col + 1}: ${description}`,
      file,
      line: line + 1,
      description,
      apply: (t) => t.slice(0, at) + by + t.slice(at + length),
    })
  }
  let inFor = 0
  for (let n = 0; n < lines.length; n++) {
    const l = lines[n]!
    const trimmed = l.trim()
    if (trimmed.startsWith('#include')) continue
    const define = /^#\s*define\s+\w+\s+/.exec(trimmed)
    if (trimmed.startsWith('#') && !define) continue
    // Operators, left to right.
    const ops = /->|<<=?|>>=?|<=|>=|==|!=|&&|\|\||<|>|\b(0[xX][0-9a-fA-F]+|\d+)([uUlL]*)\b/g
    let m: RegExpExecArray | null
    while ((m = ops.exec(l))) {
      const tok = m[0]
      const col = m.index
      if (define && col < l.indexOf(define[0].trim().split(/\s+/)[1]!) + 1) continue
      if (tok === '->' || tok.startsWith('<<') || tok.startsWith('>>')) continue
      if (RELATIONAL.includes(tok)) {
        for (const other of RELATIONAL) if (other !== tok) replaceAt(n, col, tok.length, other, `${tok} -> ${other}`)
      } else if (tok === '==' || tok === '!=') replaceAt(n, col, 2, tok === '==' ? '!=' : '==', `${tok} -> ${tok === '==' ? '!=' : '=='}`)
      else if (tok === '&&' || tok === '||') replaceAt(n, col, 2, tok === '&&' ? '||' : '&&', `${tok} -> ${tok === '&&' ? '||' : '&&'}`)
      else if (m[1] !== undefined) {
        // Not part of an identifier (\b already), not a digit of a float.
        if (/[.\w]/.test(l[col - 1] ?? '') || l[col + tok.length] === '.') continue
        const value = BigInt(m[1])
        const suffix = m[2] ?? ''
        const hex = /^0[xX]/.test(m[1])
        const show = (v: bigint) => (hex ? `0x${v.toString(16)}` : v.toString()) + suffix
        replaceAt(n, col, tok.length, show(value + 1n), `${tok} -> ${show(value + 1n)}`)
        if (value > 0n) replaceAt(n, col, tok.length, show(value - 1n), `${tok} -> ${show(value - 1n)}`)
      }
    }
    if (define) continue
    // Negated conditions: `if (` or `while (` whose parentheses close on this line.
    const cond = /\b(if|while)\s*\(/g
    while ((m = cond.exec(l))) {
      const open = m.index + m[0].length - 1
      let depth = 0
      let close = -1
      for (let j = open; j < l.length; j++) {
        if (l[j] === '(') depth++
        else if (l[j] === ')' && --depth === 0) {
          close = j
          break
        }
      }
      if (close < 0) continue
      const inner = originalLines[n]!.slice(open + 1, close)
      replaceAt(n, open, close - open + 1, `(!(${inner}))`, `${m[1]} (…) negated`)
    }
    // Statement deletion.
    if (/\bfor\s*\(/.test(l) && !l.includes('{') && !trimmed.endsWith(';')) inFor++
    else if (inFor > 0) inFor = 0
    else if (
      trimmed.endsWith(';') &&
      !trimmed.startsWith('return') &&
      !trimmed.startsWith('}') &&
      !/^(if|for|while|else|case|default|do)\b/.test(trimmed) &&
      !DECLARATION.test(trimmed) &&
      // A statement begins on this line: the line before ends one, or opens or closes a block.
      /[;{}:]\s*$|^\s*$/.test(lines[n - 1] ?? '') &&
      !/^(static|const|struct|extern|typedef)\b/.test(trimmed)
    ) {
      const start = offsets[n]!
      out.push({
        id: `${file}:${n + 1}:1: delete \`${originalLines[n]!.trim().slice(0, 60)}\``,
        file,
        line: n + 1,
        description: `delete \`${originalLines[n]!.trim().slice(0, 60)}\``,
        apply: (t) => t.slice(0, start) + t.slice(start + originalLines[n]!.length + 1),
      })
    }
  }
  return out
}
