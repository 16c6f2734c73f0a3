import { json, PayloadError, ultraLight } from '../src/codecs';

const ul = (text: string) => ultraLight.decodeMeasures(Buffer.from(text));

describe('UltraLight 2.0', () => {
  it('reads key|value pairs as one group', () => {
    expect(ul('t|15|k|abc')).toEqual([{ observedAt: undefined, measures: [{ name: 't', value: '15' }, { name: 'k', value: 'abc' }] }]);
  });

  it('reads several groups separated by #, each with its own timestamp', () => {
    const groups = ul('2016-06-13T00:35:30Z|t|10#gps|1.2/3.4#2016-06-13T01:00:00.500+02:00|t|11\n');
    expect(groups).toHaveLength(3);
    expect(groups[0]).toEqual({ observedAt: '2016-06-13T00:35:30.000Z', measures: [{ name: 't', value: '10' }] });
    expect(groups[1]).toEqual({ observedAt: undefined, measures: [{ name: 'gps', value: '1.2/3.4' }] });
    expect(groups[2].observedAt).toBe('2016-06-12T23:00:00.500Z');
  });

  it('keeps escaped separators in names and values', () => {
    expect(ul('msg|a\\|b\\#c|path\\@x|C:\\\\temp')).toEqual([
      { observedAt: undefined, measures: [{ name: 'msg', value: 'a|b#c' }, { name: 'path@x', value: 'C:\\temp' }] },
    ]);
  });

  it('refuses a measure without a value, an empty name and an empty payload, saying which', () => {
    expect(() => ul('t|15|h')).toThrow(/measure "h" has no value/);
    expect(() => ul('t|15#|5')).toThrow(PayloadError);
    expect(() => ul('|5')).toThrow(/empty name/);
    expect(() => ul('  ')).toThrow(/Empty UltraLight payload/);
  });

  it('writes commands with parameters and reads their results', () => {
    expect(ultraLight.encodeCommand('ws167', 'ping', { param1: 1, param2: 'a|b' })).toBe('ws167@ping|param1=1|param2=a\\|b');
    expect(ultraLight.encodeCommand('lamp1', 'on', '')).toBe('lamp1@on');
    expect(ultraLight.encodeCommand('lamp1', 'dim', 40)).toBe('lamp1@dim|40');
    expect(ultraLight.decodeCommandResults(Buffer.from('ws167@ping|Ping ok#ws167@reset|done'))).toEqual([
      { command: 'ping', result: 'Ping ok' },
      { command: 'reset', result: 'done' },
    ]);
    expect(() => ultraLight.decodeCommandResults(Buffer.from('no command here'))).toThrow(PayloadError);
  });

  it('takes a single measure as its raw text', () => {
    expect(ultraLight.decodeSingle('t', Buffer.from('21.5\n'))).toEqual({ measures: [{ name: 't', value: '21.5' }] });
  });
});

describe('JSON payloads', () => {
  const decode = (value: unknown) => json.decodeMeasures(Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)));

  it('reads an object as one group with typed values, and an array as several', () => {
    expect(decode({ t: 21.5, on: true, pos: { x: 1 } })).toEqual([
      { measures: [{ name: 't', value: 21.5 }, { name: 'on', value: true }, { name: 'pos', value: { x: 1 } }] },
    ]);
    expect(decode([{ t: 1 }, { t: 2 }]).map((g) => g.measures[0].value)).toEqual([1, 2]);
  });

  it('refuses what is not an object of measures', () => {
    expect(() => decode('{"t": ')).toThrow(/Invalid JSON payload/);
    expect(() => decode(42)).toThrow(/not an object/);
    expect(() => decode([])).toThrow(/Empty JSON array/);
    expect(() => decode([{ t: 1 }, 'x'])).toThrow(/group 2 is not an object/);
    expect(() => decode({})).toThrow(/no measures/);
  });

  it('writes commands as an object and reads results from one', () => {
    expect(json.encodeCommand('d1', 'ping', { n: 1 })).toBe('{"ping":{"n":1}}');
    expect(json.decodeCommandResults(Buffer.from('{"ping":"pong"}'))).toEqual([{ command: 'ping', result: 'pong' }]);
    expect(() => json.decodeCommandResults(Buffer.from('[1]'))).toThrow(PayloadError);
  });

  it('takes a single measure as JSON when it parses, else as text', () => {
    expect(json.decodeSingle('t', Buffer.from('21.5')).measures[0].value).toBe(21.5);
    expect(json.decodeSingle('s', Buffer.from('open')).measures[0].value).toBe('open');
  });
});
