#!/usr/bin/env python3
"""Checks tessera-protocol.json against tessera-protocol.h, both made by scanner.py:
the JSON parses, and lists every request, event and error of the C tables with the
same opcode, name, signature and field names.

  check-json.py JSON HEADER
"""

import json
import re
import sys


def c_table(header, macro):
    m = re.search(r'#define %s\(X\) \\\n((?:\t.*\n)+)' % macro, header)
    if not m:
        sys.exit('%s: no table in the header' % macro)
    return m.group(1)


def main(json_path, header_path):
    with open(json_path, encoding='utf-8') as f:
        doc = json.load(f)
    with open(header_path, encoding='utf-8') as f:
        header = f.read()
    line = re.compile(r'X\((\d+), (\w+), "(\w*)", "([\w ]*)"\)')
    for key, macro in (('requests', 'TS_REQUESTS'), ('events', 'TS_EVENTS')):
        want = [(int(op), name, sig, fields.split())
                for op, name, sig, fields in line.findall(c_table(header, macro))]
        got = [(m['opcode'], m['name'], m['signature'], [f['name'] for f in m['fields']])
               for m in doc[key]]
        if not want or got != want:
            sys.exit('%s: the JSON lists %r, the header %r' % (key, got, want))
        for m in doc[key]:
            if ''.join(f['type'] for f in m['fields']) != m['signature']:
                sys.exit('%s: field types do not spell the signature' % m['name'])
            for f in m['fields']:
                if f['type'] in 'no' and not f.get('interfaces'):
                    sys.exit('%s.%s: an id with no interface' % (m['name'], f['name']))
        print('%d %s, as in the header' % (len(got), key))
    errors = [(int(c), n) for c, n in re.findall(r'X\((\d+), (\w+)\)',
                                                 c_table(header, 'TS_ERRORS'))]
    if [(e['code'], e['name']) for e in doc['errors']] != errors:
        sys.exit('errors differ')
    version = re.search(r'#define TS_PROTOCOL_VERSION (\d+)', header)
    if not version or doc['version'] != int(version.group(1)):
        sys.exit('version differs')
    print('%d errors, version %d' % (len(errors), doc['version']))


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: check-json.py JSON HEADER')
    main(sys.argv[1], sys.argv[2])
