import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { CsvTokenizer, tokenizeCsv, type CsvItem } from '../../src/intensity/csv-tokenizer.js';

const fields = (text: string): string[][] => tokenizeCsv(text).map((i) => {
  if (i.issue) throw new Error(`unexpected issue ${JSON.stringify(i.issue)}`);
  return i.record.fields;
});

const issues = (text: string) => tokenizeCsv(text).flatMap((i) => (i.issue ? [i.issue] : []));

/** Tokenizes text cut into pieces at the given offsets, as a stream delivers it. */
function chunked(text: string, cuts: number[]): CsvItem[] {
  const t = new CsvTokenizer();
  const out: CsvItem[] = [];
  let from = 0;
  for (const cut of [...cuts, text.length]) {
    out.push(...t.push(text.slice(from, cut)));
    from = cut;
  }
  return [...out, ...t.end()];
}

describe('CsvTokenizer: RFC 4180', () => {
  it('splits plain records and keeps empty fields, with or without a final line break', () => {
    expect(fields('a,b,c\n1,,3\n,,\n')).toEqual([['a', 'b', 'c'], ['1', '', '3'], ['', '', '']]);
    expect(fields('a,b\n1,2')).toEqual([['a', 'b'], ['1', '2']]);
    expect(fields('a,b\n1,')).toEqual([['a', 'b'], ['1', '']]);
  });

  it('ends records at CRLF, LF or a lone CR, in any mix, and skips blank lines', () => {
    const want = [['t', 'v'], ['1', '2'], ['3', '4']];
    expect(fields('t,v\r\n1,2\r\n3,4\r\n')).toEqual(want);
    expect(fields('t,v\r1,2\r3,4\r')).toEqual(want);
    expect(fields('t,v\n1,2\r3,4')).toEqual(want);
    expect(fields('t,v\r\n\r\n1,2\n\n\r3,4\n')).toEqual(want);
  });

  it('drops a UTF-8 byte order mark', () => {
    expect(fields('\uFEFFt,v\n1,2\n')).toEqual([['t', 'v'], ['1', '2']]);
  });

  it('reads quoted fields holding commas, doubled quotes and line breaks as written', () => {
    expect(fields('a,"b, c","say ""hi""",""\n')).toEqual([['a', 'b, c', 'say "hi"', '']]);
    expect(fields('name,note\r\nx,"two\r\nlines"\r\ny,"cr\ronly"\r\n')).toEqual([['name', 'note'], ['x', 'two\r\nlines'], ['y', 'cr\ronly']]);
  });

  it('numbers lines as an editor does, across quoted line breaks and every kind of line end', () => {
    const records = tokenizeCsv('h1,h2\r\n"a\nb",1\r2,"x\r\ny"\n3,4\n').map((i) => i.record!);
    expect(records.map((r) => r.lineNumber)).toEqual([1, 2, 4, 6]);
    expect(records[2]!.at).toEqual([{ line: 4, column: 1 }, { line: 4, column: 3 }]);
    expect(records[3]!.end).toEqual({ line: 6, column: 4 });
  });

  it('gives the same records whatever the chunks, CRLF and quotes cut in half included', () => {
    const text = '\uFEFFdatetime,zone,"intensity, g"\r\n2024-01-01T00:00Z,"D""E",1\r\n"2024-01-01T01:00Z","multi\r\nline",2\r3,4,5';
    const whole = tokenizeCsv(text);
    for (let cut = 0; cut <= text.length; cut++) expect(chunked(text, [cut])).toEqual(whole);
    expect(chunked(text, Array.from({ length: text.length }, (_, i) => i))).toEqual(whole);
  });

  it('reports what RFC 4180 forbids at its line and column, leaves that record out and goes on', () => {
    expect(issues('a,b\n1,x"y\n2,3\n')).toEqual([{ line: 2, column: 4, recordLine: 2,
      message: 'a \'"\' inside an unquoted field: put the whole field in double quotes and double the quotes inside it' }]);
    expect(fields('a,b\n1,x"y\n2,3\n'.replace('1,x"y\n', ''))).toEqual([['a', 'b'], ['2', '3']]);
    expect(tokenizeCsv('a,b\n1,x"y\n2,3\n').flatMap((i) => (i.record ? [i.record.fields] : []))).toEqual([['a', 'b'], ['2', '3']]);
    expect(issues('a,b\n"1"2,3\n')).toEqual([{ line: 2, column: 4, recordLine: 2,
      message: 'a character after a closing \'"\': a quoted field ends at a comma or a line break (write "" for a quote inside it)' }]);
    expect(issues('a,b\n1,2\n3,"open\n4,5\n')).toEqual([{ line: 3, column: 3, recordLine: 3,
      message: 'a quoted field never closed: the \'"\' here has no closing quote before the end of the file (line 5)' }]);
  });
});

// Python's csv module is a long-standing standard reader; where it is installed, the two must agree on
// every valid input (it is lenient where RFC 4180 is not, so only valid CSV is compared).
const python = spawnSync('python3', ['-c', 'import csv'], { encoding: 'utf8' }).status === 0;

describe.skipIf(!python)('CsvTokenizer agrees with Python\'s csv module', () => {
  it('on quoted commas, quoted line breaks, CR-only, CRLF, mixed line ends and empty fields', () => {
    const texts = [
      'a,b,c\r\n1,"x, y",3\r\n4,"multi\r\nline",6\r\n',
      'a,b\r1,2\r"3\r",4\r',
      'a,b\n"",""\n,\n"say ""hi""",x\n',
      'datetime,zone,intensity_g_per_kwh\n2026-03-02T10:00:00Z,"DE",100\r\n2026-03-02T11:00:00Z,DE,"1,5"\r2026-03-02T12:00:00Z,DE,7',
    ];
    const script = 'import csv,io,json,sys\nprint(json.dumps([[r for r in csv.reader(io.StringIO(t, newline="")) if r] for t in json.load(sys.stdin)]))';
    const py = spawnSync('python3', ['-c', script], { input: JSON.stringify(texts), encoding: 'utf8' });
    expect(py.status).toBe(0);
    expect(texts.map(fields)).toEqual(JSON.parse(py.stdout));
  });
});
