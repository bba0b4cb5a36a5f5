/**
 * Writes JSON text laid out exactly as rapidjson's PrettyWriter (4-space indent), which is
 * what TF-Serving's REST responses and error messages are made with. `singleLineArrays`
 * mirrors kFormatSingleLineArray: arrays written while it is set stay on one line.
 */
interface Level {
  readonly inArray: boolean;
  count: number;
}

export class PrettyJsonWriter {
  singleLineArrays = false;
  /** Output pieces, joined once at the end (large outputs make millions of them). */
  private readonly parts: string[] = [];
  private readonly levels: Level[] = [];

  startObject(): void {
    this.prefix();
    this.levels.push({ inArray: false, count: 0 });
    this.parts.push('{');
  }

  endObject(): void {
    const level = this.levels.pop()!;
    if (level.count > 0) this.parts.push('\n' + this.indent());
    this.parts.push('}');
  }

  startArray(): void {
    this.prefix();
    this.levels.push({ inArray: true, count: 0 });
    this.parts.push('[');
  }

  endArray(): void {
    const level = this.levels.pop()!;
    if (level.count > 0 && !this.singleLineArrays) this.parts.push('\n' + this.indent());
    this.parts.push(']');
  }

  key(name: string): void {
    this.string(name);
  }

  string(value: string): void {
    this.prefix();
    this.parts.push(jsonString(value));
  }

  /** A number or literal token, written as given. */
  raw(token: string): void {
    this.prefix();
    this.parts.push(token);
  }

  toString(): string {
    return this.parts.join('');
  }

  private indent(): string {
    const depth = this.levels.length;
    return (INDENTS[depth] ??= ' '.repeat(4 * depth));
  }

  private prefix(): void {
    const level = this.levels[this.levels.length - 1];
    if (!level) return;
    if (level.inArray) {
      if (this.singleLineArrays) {
        if (level.count > 0) this.parts.push(', ');
      } else {
        this.parts.push((level.count > 0 ? ',\n' : '\n') + this.indent());
      }
    } else if (level.count % 2 === 1) {
      this.parts.push(': ');
    } else {
      this.parts.push((level.count > 0 ? ',\n' : '\n') + this.indent());
    }
    level.count++;
  }
}

const INDENTS: string[] = [];

// Matching control characters is the point: JSON must escape them.
// eslint-disable-next-line no-control-regex
const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/** A JSON string literal with rapidjson's escapes (control characters as upper-case \u00XX). */
export function jsonString(value: string): string {
  const quoted = JSON.stringify(value);
  if (!CONTROL_CHARACTER.test(value)) return quoted;
  // Escaped backslashes are matched as pairs so that a literal "\u00ab" in the text stays.
  return quoted.replace(/\\\\|\\u00[0-9a-f]{2}/g, (escape) =>
    escape === '\\\\' ? escape : '\\u' + escape.slice(2).toUpperCase(),
  );
}
