// tests/lib/policy_ini.mjs — an independent reader of policy/*.ini for the
// tests: sections, keys and day lists, written from the files' own format
// (";" comment lines, "[section]" headers, "key = value" lines, every key
// required), never from the server's parser.  Tests compute what the
// server should do from what this reads.
//
//   parseIni(text)          -> { section: { key: 'raw value' } }
//   loadPolicy(name)        -> the parsed file policy/<name>.ini
//   dayList('1, 2, 3')      -> [1, 2, 3]   ('' -> [])
//   measure(ini, section)   -> { kind, days, testDays, thenKind, thenDays,
//                                thenTestDays, closeNegatives }
//   policyMeasures(ini)     -> { close, secondary, secondaryContacts,
//                                recheckHours, requiresNegative, periodic,
//                                colours, infectiousDays, windowMinutes,
//                                contactsControlledHours }
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from './harness.mjs';

export function parseIni(text) {
  const out = {};
  let section = null;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith(';') || line.startsWith('#')) return;
    const h = /^\[([A-Za-z0-9_]+)\]$/.exec(line);
    if (h) {
      if (Object.prototype.hasOwnProperty.call(out, h[1])) throw new Error(`line ${i + 1}: section [${h[1]}] twice`);
      section = h[1];
      out[section] = {};
      return;
    }
    const kv = /^([A-Za-z0-9_]+)\s*=\s*(.*)$/.exec(line);
    if (!kv) throw new Error(`line ${i + 1}: neither a section, a comment nor key = value: ${raw}`);
    if (section === null) throw new Error(`line ${i + 1}: key ${kv[1]} outside any section`);
    if (Object.prototype.hasOwnProperty.call(out[section], kv[1])) throw new Error(`line ${i + 1}: [${section}] ${kv[1]} twice`);
    out[section][kv[1]] = kv[2].trim();
  });
  return out;
}

export function loadPolicy(name) {
  return parseIni(readFileSync(join(ROOT, 'policy', `${name}.ini`), 'utf8'));
}

function get(ini, section, key) {
  const s = ini[section];
  if (!s) throw new Error(`no section [${section}]`);
  if (!Object.prototype.hasOwnProperty.call(s, key)) throw new Error(`no key ${key} in [${section}]`);
  return s[key];
}

export function int(ini, section, key) {
  const v = get(ini, section, key);
  if (!/^\d+$/.test(v)) throw new Error(`[${section}] ${key} = '${v}' is not a whole number`);
  return Number(v);
}

export function yes(ini, section, key) {
  const v = get(ini, section, key);
  if (v !== 'yes' && v !== 'no') throw new Error(`[${section}] ${key} = '${v}' is neither yes nor no`);
  return v === 'yes';
}

// '1, 2, 3, 5, 7' -> [1, 2, 3, 5, 7]; strictly increasing positive days
export function dayList(v) {
  if (v.trim() === '') return [];
  const days = v.split(',').map(s => s.trim());
  for (const d of days) if (!/^[1-9]\d*$/.test(d)) throw new Error(`'${v}': '${d}' is not a day`);
  const n = days.map(Number);
  for (let k = 1; k < n.length; k++) if (n[k] <= n[k - 1]) throw new Error(`'${v}': days not increasing`);
  return n;
}

const KINDS = ['none', 'central', 'home_isolation', 'home_monitoring'];

export function measure(ini, section) {
  const kind = get(ini, section, 'kind');
  const thenKind = get(ini, section, 'then_kind');
  for (const k of [kind, thenKind]) if (!KINDS.includes(k)) throw new Error(`[${section}] kind '${k}'`);
  const m = {
    kind,
    days: int(ini, section, 'days'),
    testDays: dayList(get(ini, section, 'test_days')),
    thenKind,
    thenDays: int(ini, section, 'then_days'),
    thenTestDays: dayList(get(ini, section, 'then_test_days')),
    closeNegatives: Object.prototype.hasOwnProperty.call(ini[section], 'release_after_close_negatives')
      ? int(ini, section, 'release_after_close_negatives') : 0,
  };
  for (const d of m.testDays) if (d > m.days) throw new Error(`[${section}] test day ${d} after day ${m.days}`);
  for (const d of m.thenTestDays) if (d > m.thenDays) throw new Error(`[${section}] then test day ${d} after day ${m.thenDays}`);
  if ((m.kind === 'none') !== (m.days === 0)) throw new Error(`[${section}] kind ${m.kind} with ${m.days} days`);
  if ((m.thenKind === 'none') !== (m.thenDays === 0)) throw new Error(`[${section}] then_kind ${m.thenKind} with ${m.thenDays} days`);
  return m;
}

export function policyMeasures(ini) {
  const colours = { ...ini.colours };
  const periodic = Object.keys(ini.periodic || {});
  return {
    name: get(ini, 'policy', 'name'),
    close: measure(ini, 'close_contact'),
    secondary: measure(ini, 'secondary_contact'),
    secondaryContacts: yes(ini, 'tracing', 'secondary_contacts'),
    infectiousDays: int(ini, 'tracing', 'infectious_days_before'),
    windowMinutes: int(ini, 'tracing', 'window_minutes'),
    recheckHours: int(ini, 'isolation', 'release_recheck_hours'),
    requiresNegative: yes(ini, 'isolation', 'release_requires_negative'),
    contactsControlledHours: int(ini, 'targets', 'contacts_controlled_hours'),
    periodic,
    colours,
  };
}
