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
  private text = '';
  private readonly levels: Level[] = [];

  startObject(): void {
    this.prefix();
    this.levels.push({ inArray: false, count: 0 });
    this.text += '{';
  }

  endObject(): void {
    const level = this.levels.pop()!;
    if (level.count > 0) this.text += '\n' + this.indent();
    this.text += '}';
  }

  startArray(): void {
    this.prefix();
    this.levels.push({ inArray: true, count: 0 });
    this.text += '[';
  }

  endArray(): void {
    const level = this.levels.pop()!;
    if (level.count > 0 && !this.singleLineArrays) this.text += '\n' + this.indent();
    this.text += ']';
  }

  key(name: string): void {
    this.string(name);
  }

  string(value: string): void {
    this.prefix();
    this.text += jsonString(value);
  }

  /** A number or literal token, written as given. */
  raw(token: string): void {
    this.prefix();
    this.text += token;
  }

  toString(): string {
    return this.text;
  }

  private indent(): string {
    return ' '.repeat(4 * this.levels.length);
  }

  private prefix(): void {
    const level = this.levels[this.levels.length - 1];
    if (!level) return;
    if (level.inArray) {
      if (level.count > 0) this.text += this.singleLineArrays ? ', ' : ',';
      if (!this.singleLineArrays) this.text += '\n' + this.indent();
    } else {
      if (level.count > 0) this.text += level.count % 2 === 0 ? ',\n' : ': ';
      else this.text += '\n';
      if (level.count % 2 === 0) this.text += this.indent();
    }
    level.count++;
  }
}

const CONTROL_CHARACTER = /[\u0000-\u001f]/;

/** A JSON string literal with rapidjson's escapes (control characters as upper-case \u00XX). */
export function jsonString(value: string): string {
  const quoted = JSON.stringify(value);
  if (!CONTROL_CHARACTER.test(value)) return quoted;
  // Escaped backslashes are matched as pairs so that a literal "\u00ab" in the text stays.
  return quoted.replace(/\\\\|\\u00[0-9a-f]{2}/g, (escape) => (escape === '\\\\' ? escape : '\\u' + escape.slice(2).toUpperCase()));
}
