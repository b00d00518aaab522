import { describe, expect, it } from 'vitest';
import {
  defaultModel,
  formProblems,
  isEmptyValue,
  isVisible,
  paramValueProblem,
  type FormParam,
} from './plugin-form.js';

function param(name: string, type: FormParam['type'], more: Partial<FormParam> = {}): FormParam {
  return { name, type, label: more.label ?? name, mandatory: false, visibilityCondition: null, ...more };
}

describe('isVisible: DSS visibility conditions without eval', () => {
  const model = {
    show: true,
    n: 5,
    s: 'abc',
    list: ['a', 'b'],
    nested: { deep: { x: 1 } },
    zero: 0,
    nil: null,
  };

  it.each([
    ['model.show == true', true],
    ['model.show', true],
    ['!model.show', false],
    ['model.n == 5', true],
    ["model.n == '5'", true],
    ["model.n === '5'", false],
    ['model.n !== 5', false],
    ['model.n != 4', true],
    ['model.n > 4 && model.n <= 5', true],
    ['model.n < 5 || model.n >= 6', false],
    ['(model.n < 5 || model.show) && !false', true],
    ['model[\'s\'] == "abc"', true],
    ["model.s == 'ab\\'c'", false],
    ['model.nested.deep.x === 1', true],
    ['model.missing.deep == null', true],
    ['model.missing == undefined', true],
    ['model.nil == null', true],
    ['model.nil === undefined', false],
    ['model.zero', false],
    ['model.list.length == 2', true],
    ['model.s.length > 2', true],
    ["model.list.indexOf('b') >= 0", true],
    ["model.list.indexOf('z') >= 0", false],
    ["model.s.indexOf('c') == 2", true],
    ["model.list.includes('a')", true],
    ["model.missing.indexOf('a') >= 0", false],
    ['model.n == -5', false],
    ['model.n > 4.5', true],
    ['model.constructor', false],
    ['model.__proto__', false],
    ["model['constructor'] == null", true],
  ])('%s → %s', (condition, expected) => {
    expect(isVisible(condition, model)).toBe(expected);
  });

  it('shows the field when there is no condition', () => {
    expect(isVisible(null, {})).toBe(true);
    expect(isVisible(undefined, {})).toBe(true);
    expect(isVisible('  ', {})).toBe(true);
  });

  it.each([
    'model.x ==',
    'model.x = 1',
    'alert(1)',
    'window.location',
    'model.x.toString()',
    "model.x == 'unterminated",
    'model.x ? 1 : 0',
    '((model.x)',
    'model.x; 1',
    'model..x',
  ])('shows the field, without throwing, when it cannot read %s', (condition) => {
    expect(isVisible(condition, { x: false })).toBe(true);
  });

  it('runs no code: a condition that would call a function does not', () => {
    let called = false;
    const model = { f: () => (called = true) };
    expect(isVisible('model.f()', model)).toBe(true);
    expect(called).toBe(false);
  });
});

describe('formProblems', () => {
  const select = {
    selectChoices: [
      { value: 'json', label: 'JSON' },
      { value: 'csv', label: 'CSV' },
    ],
  };

  it('asks for mandatory values by label, only for visible fields', () => {
    const params = [
      param('endpoint', 'STRING', { mandatory: true, label: 'Endpoint' }),
      param('note', 'STRING', { mandatory: true, label: 'Note', visibilityCondition: 'model.raw == true' }),
      param('creds', 'PRESET', { mandatory: true, label: 'API' }),
      param('tags', 'STRINGS', { mandatory: true, label: 'Tags' }),
      param('flag', 'BOOLEAN', { mandatory: true, label: 'Flag' }),
    ];
    expect(formProblems(params, { endpoint: '  ', tags: [], flag: false })).toEqual([
      { param: 'endpoint', message: 'Enter a value for Endpoint.' },
      { param: 'creds', message: 'Choose a preset for API.' },
      { param: 'tags', message: 'Enter a value for Tags.' },
    ]);
    expect(
      formProblems(params, {
        raw: true,
        endpoint: 'x',
        creds: { mode: 'PRESET', name: 'p' },
        tags: ['a'],
        flag: true,
      }),
    ).toEqual([{ param: 'note', message: 'Enter a value for Note.' }]);
  });

  it.each([
    [param('s', 'STRING'), 'text', 3, 's must be text.'],
    [param('t', 'TEXTAREA'), 'line\nline', ['x'], 't must be text.'],
    [param('d', 'DATE'), '2024-02-29', '2023-02-29', 'd must be a date (YYYY-MM-DD).'],
    [param('d', 'DATE'), '2024-02-29T10:00:00Z', '29/02/2024', 'd must be a date (YYYY-MM-DD).'],
    [param('l', 'STRINGS'), ['a', 'b'], ['a', 1], 'l must be a list of texts.'],
    [param('i', 'INT'), 42, 4.2, 'i must be a whole number.'],
    [param('i', 'INT'), -3, '3', 'i must be a whole number.'],
    [param('x', 'DOUBLE'), 4.2, Number.POSITIVE_INFINITY, 'x must be a number.'],
    [param('x', 'DOUBLE'), 4, '4.2', 'x must be a number.'],
    [param('b', 'BOOLEAN'), false, 'false', 'b must be true or false.'],
    [param('f', 'SELECT', select), 'csv', 'xml', 'f must be one of "json", "csv".'],
    [
      param('m', 'MULTISELECT', select),
      ['csv', 'json'],
      ['csv', 'xml'],
      'm must be a list of choices among "json", "csv".',
    ],
    [param('m', 'MAP'), { a: 'b' }, { a: 1 }, 'm must map texts to texts.'],
    [param('m', 'MAP'), { a: 'b' }, ['a'], 'm must map texts to texts.'],
    [
      param('k', 'KEY_VALUE_LIST'),
      [{ from: 'a', to: 'b' }],
      [{ from: 'a' }],
      'k must be a list of key and value texts.',
    ],
    [param('p', 'PRESET'), { mode: 'PRESET', name: 'prod' }, 'prod', 'p must name a preset.'],
    [param('u', 'USER_SECRET'), 'API_KEY', 7, 'u must be the name of one of your secrets.'],
  ])('checks %o: accepts %o, refuses %o', (p, good, bad, message) => {
    expect(formProblems([p], { [p.name]: good })).toEqual([]);
    expect(formProblems([p], { [p.name]: bad })).toEqual([{ param: p.name, message }]);
  });

  it('ignores separators and credentials, whose values are not in the form', () => {
    const params = [
      param('sep', 'SEPARATOR', { mandatory: true }),
      param('pw', 'PASSWORD', { mandatory: true }),
      param('c', 'CREDENTIAL_REQUEST', { mandatory: true }),
    ];
    expect(formProblems(params, { sep: 1, pw: 2 })).toEqual([]);
  });

  it('skips optional empty values and reads only own keys of the model', () => {
    expect(formProblems([param('n', 'INT')], {})).toEqual([]);
    expect(formProblems([param('toString', 'STRING', { mandatory: true })], {})).toEqual([
      { param: 'toString', message: 'Enter a value for toString.' },
    ]);
  });
});

describe('defaultModel, isEmptyValue, paramValueProblem', () => {
  it('starts from the defaults, copied, with false for a BOOLEAN without one', () => {
    const tags = ['a'];
    const params = [
      param('n', 'INT', { defaultValue: 50 }),
      param('tags', 'STRINGS', { defaultValue: tags }),
      param('b', 'BOOLEAN'),
      param('s', 'STRING'),
      param('pw', 'PASSWORD', { defaultValue: 'never' }),
      param('sep', 'SEPARATOR', { defaultValue: 'x' }),
    ];
    const model = defaultModel(params);
    expect(model).toEqual({ n: 50, tags: ['a'], b: false });
    (model.tags as string[]).push('b');
    expect(tags).toEqual(['a']);
  });

  it('counts blank text, empty lists and maps, and an unnamed preset as empty; zero and false are values', () => {
    for (const empty of [undefined, null, '', ' \n', [], {}, { mode: 'PRESET', name: '' }])
      expect(isEmptyValue(empty)).toBe(true);
    for (const value of [0, false, 'x', ['x'], { a: 'b' }]) expect(isEmptyValue(value)).toBe(false);
  });

  it('answers a sentence ending for the server to compose', () => {
    expect(paramValueProblem(param('i', 'INT'), 1)).toBeNull();
    expect(paramValueProblem(param('i', 'INT'), 2 ** 60)).toBe('must be a whole number');
  });
});
