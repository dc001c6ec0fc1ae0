/**
 * An RFC 4180 CSV tokenizer, strict, incremental and dependency-free. Records end at CRLF, LF or a lone CR
 * (any mix); a UTF-8 BOM is dropped; a field in double quotes may hold commas, quotes ("" escapes) and line
 * breaks, kept as written. What RFC 4180 does not allow is reported with the line and column where it
 * happens, never guessed around: a quote inside an unquoted field, anything but a comma or a line break
 * after a closing quote, a quote that is never closed. Text can arrive in chunks of any size (a replay
 * streams its trace), so no record is ever held longer than it takes to read it.
 */

/** FieldPosition is where a field starts: 1-based line and column (in UTF-16 code units, as editors show ASCII). */
export interface FieldPosition {
  line: number;
  column: number;
}

/** CsvRecord is one record: its fields, where each starts, and where the record ends (its line break or EOF). */
export interface CsvRecord {
  /** 1-based line the record starts on (a quoted line break makes a record span several lines). */
  lineNumber: number;
  fields: string[];
  at: FieldPosition[];
  end: FieldPosition;
}

/** CsvSyntaxIssue is text that is not CSV: where, which record it breaks, and what is wrong. */
export interface CsvSyntaxIssue {
  line: number;
  column: number;
  /** Line the broken record starts on. */
  recordLine: number;
  message: string;
}

/** CsvItem is what the tokenizer yields: a record or a syntax issue (the broken record is left out). */
export type CsvItem = { record: CsvRecord; issue?: undefined } | { issue: CsvSyntaxIssue; record?: undefined };

const COMMA = 44;
const QUOTE = 34;
const CR = 13;
const LF = 10;

const enum State { Start, Unquoted, Quoted, QuoteSeen, Skip }

/** CsvTokenizer turns CSV text, pushed in chunks, into records and syntax issues, in file order. */
export class CsvTokenizer {
  private state = State.Start;
  private line = 1;
  private column = 0;
  private prevCR = false;
  private first = true;
  private fields: string[] = [];
  private at: FieldPosition[] = [];
  private field = '';
  private quotedAny = false;
  private recordLine = 1;
  private openQuote: FieldPosition = { line: 1, column: 1 };

  /** push tokenizes the next chunk; records completed by it are returned (a record may wait for later chunks). */
  push(chunk: string): CsvItem[] {
    const out: CsvItem[] = [];
    const n = chunk.length;
    let i = 0;
    if (this.first && n > 0) {
      this.first = false;
      if (chunk.charCodeAt(0) === 0xfeff) i = 1;
    }
    // The hot loop works on locals, written back to the fields before anything that reads them.
    let { line, column: col, prevCR } = this;
    let seg = i;
    for (; i < n; i++) {
      const c = chunk.charCodeAt(i);
      const atLine = line;
      const atColumn = col + 1;
      const swallowLF = c === LF && prevCR;
      if (c === CR) {
        line++;
        col = 0;
      } else if (c === LF) {
        if (!prevCR) line++;
        col = 0;
      } else col++;
      prevCR = c === CR;
      switch (this.state) {
        case State.Start:
          if (swallowLF) break; // the CR before it ended the record
          if (this.fields.length === 0) this.recordLine = atLine;
          if (c === QUOTE) {
            this.beginField(atLine, atColumn, true);
            this.state = State.Quoted;
            seg = i + 1;
          } else if (c === COMMA) {
            this.beginField(atLine, atColumn, false);
            this.fields.push('');
          } else if (c === CR || c === LF) {
            if (this.fields.length === 0) break; // a blank line
            this.beginField(atLine, atColumn, false); // after a trailing comma: one more, empty field
            this.fields.push('');
            this.endRecord(out, atLine, atColumn);
          } else {
            this.beginField(atLine, atColumn, false);
            this.state = State.Unquoted;
            seg = i;
            const j = plainRun(chunk, i + 1);
            col += j - i - 1;
            i = j - 1;
          }
          break;
        case State.Unquoted:
          if (c === COMMA || c === CR || c === LF) {
            this.fields.push(this.field + chunk.slice(seg, i));
            this.field = '';
            if (c === COMMA) this.state = State.Start;
            else this.endRecord(out, atLine, atColumn);
          } else if (c === QUOTE) {
            this.fail(out, atLine, atColumn, 'a \'"\' inside an unquoted field: put the whole field in double quotes and double the quotes inside it');
          } else {
            const j = plainRun(chunk, i + 1);
            col += j - i - 1;
            i = j - 1;
          }
          break;
        case State.Quoted:
          if (c === QUOTE) {
            this.field += chunk.slice(seg, i);
            this.state = State.QuoteSeen;
          }
          break;
        case State.QuoteSeen:
          if (c === QUOTE) {
            this.field += '"';
            this.state = State.Quoted;
            seg = i + 1;
          } else if (c === COMMA || c === CR || c === LF) {
            this.fields.push(this.field);
            this.field = '';
            if (c === COMMA) this.state = State.Start;
            else this.endRecord(out, atLine, atColumn);
          } else {
            this.fail(out, atLine, atColumn, 'a character after a closing \'"\': a quoted field ends at a comma or a line break (write "" for a quote inside it)');
          }
          break;
        case State.Skip:
          if (c === CR || c === LF) this.reset();
          break;
      }
    }
    this.line = line;
    this.column = col;
    this.prevCR = prevCR;
    if (this.state === State.Unquoted || this.state === State.Quoted) this.field += chunk.slice(seg);
    return out;
  }

  /** end finishes the text: the last record (no final line break needed), or the quote left open. */
  end(): CsvItem[] {
    const out: CsvItem[] = [];
    const endAt = { line: this.line, column: this.column + 1 };
    switch (this.state) {
      case State.Start:
        if (this.fields.length > 0) {
          this.beginField(endAt.line, endAt.column, false);
          this.fields.push('');
          this.endRecord(out, endAt.line, endAt.column);
        }
        break;
      case State.Unquoted:
      case State.QuoteSeen:
        this.fields.push(this.field);
        this.endRecord(out, endAt.line, endAt.column);
        break;
      case State.Quoted:
        out.push({ issue: {
          line: this.openQuote.line, column: this.openQuote.column, recordLine: this.recordLine,
          message: `a quoted field never closed: the '"' here has no closing quote before the end of the file (line ${endAt.line})`,
        } });
        break;
      case State.Skip:
        break;
    }
    this.reset();
    return out;
  }

  private beginField(line: number, column: number, quoted: boolean): void {
    this.at.push({ line, column });
    if (quoted) {
      this.quotedAny = true;
      this.openQuote = { line, column };
    }
  }

  private endRecord(out: CsvItem[], line: number, column: number): void {
    const blank = !this.quotedAny && this.fields.length === 1 && this.fields[0]!.trim() === '';
    if (!blank) out.push({ record: { lineNumber: this.recordLine, fields: this.fields, at: this.at, end: { line, column } } });
    this.reset();
  }

  private fail(out: CsvItem[], line: number, column: number, message: string): void {
    out.push({ issue: { line, column, recordLine: this.recordLine, message } });
    this.reset();
    this.state = State.Skip;
  }

  private reset(): void {
    this.state = State.Start;
    this.fields = [];
    this.at = [];
    this.field = '';
    this.quotedAny = false;
  }
}

/** plainRun is the index of the first comma, quote or line break at or after `from` (or the chunk's length). */
function plainRun(chunk: string, from: number): number {
  let j = from;
  for (const n = chunk.length; j < n; j++) {
    const d = chunk.charCodeAt(j);
    if (d === COMMA || d === QUOTE || d === CR || d === LF) break;
  }
  return j;
}

/** tokenizeCsv tokenizes a whole text. */
export function tokenizeCsv(text: string): CsvItem[] {
  const t = new CsvTokenizer();
  return [...t.push(text), ...t.end()];
}
