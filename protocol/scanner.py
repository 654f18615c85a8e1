#!/usr/bin/env python3
"""Turns the protocol spec (tessera.protocol) into what the build needs.

  scanner.py header SPEC OUT          tessera-protocol.h: the C tables
  scanner.py json SPEC OUT            tessera-protocol.json: the spec for other languages
  scanner.py client SPEC OUT.c OUT.h  libtessera's request stubs and event dispatch
                                      table (OUT.c), and their declarations (OUT.h)

The grammar is described at the top of tessera.protocol and in PROTOCOL.md. Python's
standard library only: the build needs nothing beyond Debian's python3.
"""

import json
import re
import sys

NAME = re.compile(r'[a-z_][a-z0-9_]*\Z')
TYPE = re.compile(r'(?:([uifsh])|(a)(?::(\d+))?|([no])(\?)?:([a-z_][a-z0-9_]*))\Z')
ANY = 'object'  # the built-in family of every interface
MAX_INTERFACES = 32  # a bit each in ts_arg_desc.interfaces


class SpecError(Exception):
    pass


class Field:
    def __init__(self, text, name):
        m = TYPE.match(text)
        if not m:
            raise SpecError('unknown field type %r' % text)
        self.name = name
        self.type = m.group(1) or m.group(2) or m.group(4)
        self.elem_size = int(m.group(3) or 0)
        self.nullable = bool(m.group(5))
        self.interface = m.group(6)
        if self.type == 'a' and m.group(3) is not None and self.elem_size == 0:
            raise SpecError('array element size 0')
        if self.nullable and self.type != 'o':
            raise SpecError('only an existing id (o) may be nullable')
        if self.type == 'n' and self.interface == ANY:
            raise SpecError('a new id must say which interface it creates')


class Message:
    def __init__(self, kind, opcode, name, since, interface):
        self.kind, self.opcode, self.name = kind, opcode, name
        self.since, self.interface = since, interface
        self.fields = []

    def signature(self):
        return ''.join(f.type for f in self.fields)


class Spec:
    def __init__(self):
        self.version = None
        self.interfaces = []      # in order of first mention
        self.families = {}        # name -> [interface]
        self.requests, self.events, self.errors, self.limits = [], [], [], []

    def mask_of(self, name):
        """The interfaces an id field of type NAME may name, as a list of names."""
        if name == ANY:
            return list(self.interfaces)
        if name in self.families:
            return self.families[name]
        return [name]


def number(word):
    try:
        return int(word, 0)
    except ValueError:
        raise SpecError('%r is not a number' % word) from None


def name(word):
    if not NAME.match(word):
        raise SpecError('%r is not a valid name' % word)
    return word


def parse(path):
    spec = Spec()
    current_iface = None
    message = None
    with open(path, encoding='utf-8') as f:
        lines = f.read().splitlines()
    for lineno, raw in enumerate(lines, 1):
        text, _, comment = raw.partition('#')
        words = text.split()
        if not words:
            continue
        try:
            key = words[0]
            if spec.version is None and key != 'version':
                raise SpecError('the first statement must be version')
            if key == 'version' and len(words) == 2:
                if spec.version is not None:
                    raise SpecError('a second version')
                spec.version = number(words[1])
                message = None
            elif key == 'limit' and len(words) == 3:
                spec.limits.append((name(words[1]), number(words[2]), comment.strip()))
                message = None
            elif key == 'interface' and len(words) == 2:
                current_iface = name(words[1])
                if current_iface == ANY:
                    raise SpecError('%r is every interface' % current_iface)
                # A family heads the messages that all of its interfaces take (node_*).
                if current_iface not in spec.interfaces and current_iface not in spec.families:
                    spec.interfaces.append(current_iface)
                message = None
            elif key == 'family' and len(words) >= 4 and words[2] == '=':
                fam = name(words[1])
                if fam == ANY or fam in spec.families or fam in spec.interfaces:
                    raise SpecError('%r is defined twice' % fam)
                spec.families[fam] = [name(w) for w in words[3:]]
                message = None
            elif key in ('request', 'event') and len(words) == 5 and words[3] == 'since':
                if current_iface is None:
                    raise SpecError('a message outside any interface')
                message = Message(key, number(words[1]), name(words[2]),
                                  number(words[4]), current_iface)
                (spec.requests if key == 'request' else spec.events).append(message)
            elif key == 'error' and len(words) == 3:
                spec.errors.append((number(words[1]), name(words[2])))
                message = None
            elif len(words) == 2 and TYPE.match(key):
                if message is None:
                    raise SpecError('a field outside any message')
                message.fields.append(Field(key, name(words[1])))
            else:
                raise SpecError('cannot read %r' % text.strip())
        except SpecError as e:
            raise SpecError('%s:%d: %s' % (path, lineno, e)) from None
    check(spec, path)
    return spec


def check(spec, path):
    def fail(why):
        raise SpecError('%s: %s' % (path, why))
    if spec.version is None or spec.version < 1:
        fail('no version, or version below 1')
    if len(spec.interfaces) > MAX_INTERFACES:
        fail('more than %d interfaces' % MAX_INTERFACES)
    for fam, members in spec.families.items():
        for m in members:
            if m not in spec.interfaces:
                fail('family %s names %s, which is no interface' % (fam, m))
    limits = dict((n, v) for n, v, _ in spec.limits)
    max_args = limits.get('max_args', 8)
    for what, items in (('request', spec.requests), ('event', spec.events),
                        ('error', spec.errors)):
        key = (lambda x: x[0]) if what == 'error' else (lambda x: x.opcode)
        nm = (lambda x: x[1]) if what == 'error' else (lambda x: x.name)
        items.sort(key=key)
        if [key(x) for x in items] != list(range(len(items))):
            fail('%s opcodes are not 0 to %d, each once' % (what, len(items) - 1))
        names = [nm(x) for x in items]
        if len(set(names)) != len(names):
            fail('two %ss share a name' % what)
    for m in spec.requests + spec.events:
        if not 1 <= m.since <= spec.version:
            fail('%s: since %d is outside 1 to %d' % (m.name, m.since, spec.version))
        if len(m.fields) > max_args:
            fail('%s has more than %d fields' % (m.name, max_args))
        if len(set(f.name for f in m.fields)) != len(m.fields):
            fail('%s: two fields share a name' % m.name)
        for f in m.fields:
            if f.interface is not None and f.interface != ANY and \
                    f.interface not in spec.interfaces and f.interface not in spec.families:
                fail('%s.%s names %s, which is no interface' % (m.name, f.name, f.interface))
            if f.type == 'n' and f.interface in spec.families:
                fail('%s.%s: a new id must create one interface, not a family'
                     % (m.name, f.name))


HEADER = '/* Generated by protocol/scanner.py from %s: do not edit. */\n'


def x_line(text):
    return '\t%s \\\n' % text


def macro(name, lines, comment=None):
    out = '/* %s */\n' % comment if comment else ''
    out += '#define %s(X) \\\n' % name
    out += ''.join(x_line(line) for line in lines)
    return out.rstrip(' \\\n') + '\n\n'


def fields_string(m):
    return ' '.join(f.name for f in m.fields)


def mask_expr(spec, iface):
    if iface == ANY:
        return 'TS_IFACE_MASK_ANY'
    return 'TS_IFACE_MASK_' + iface


def arg_lines(spec, messages):
    lines = []
    for m in messages:
        for k, f in enumerate(m.fields):
            if f.interface is not None:
                iface, mask = '"%s"' % f.interface, mask_expr(spec, f.interface)
            else:
                iface, mask = '(const char *)0', '0u'
            lines.append("X(%d, %d, '%s', %s, %s, %d, %d)" % (
                m.opcode, k, f.type, iface, mask, int(f.nullable), f.elem_size))
    return lines


def gen_header(spec, src):
    o = [HEADER % src, '''/*
 * The Tessera protocol as C tables, from tessera.protocol (see its grammar there and
 * in PROTOCOL.md, which describes the semantics of every message).
 *
 * TS_REQUESTS, TS_EVENTS: X(OPCODE, NAME, SIGNATURE, FIELDS), one line a message.
 *   SIGNATURE has one character per field, in wire order: u uint32, i int32, f fixed
 *   16.16, n new id, o existing id, s string, h fd (no bytes), a array. FIELDS names
 *   the fields, space separated.
 * TS_REQUEST_INFO, TS_EVENT_INFO: X(OPCODE, NAME, SIGNATURE, FIELDS, INTERFACE, SINCE),
 *   the same with the interface the message belongs to and the version it came in.
 * TS_REQUEST_ARGS, TS_EVENT_ARGS: X(OPCODE, INDEX, TYPE, INTERFACE, MASK, NULLABLE,
 *   ELEM_SIZE), one line a field: for ids the interface or family it names as a string
 *   ("object": any) and the TS_IFACE_ bits it accepts, else NULL and 0; NULLABLE 1 when
 *   0 means none; ELEM_SIZE the multiple an array's length must be, 0 for any.
 * TS_ERRORS: X(CODE, NAME). TS_INTERFACES: X(INDEX, NAME).
 */
#ifndef TESSERA_PROTOCOL_H
#define TESSERA_PROTOCOL_H

''']
    o.append('#define TS_PROTOCOL_VERSION %d\n\n' % spec.version)
    sig = lambda m: 'X(%d, %s, "%s", "%s")' % (m.opcode, m.name, m.signature(),
                                               fields_string(m))
    o.append(macro('TS_REQUESTS', [sig(m) for m in spec.requests],
                   'Requests: client to server.'))
    o.append(macro('TS_EVENTS', [sig(m) for m in spec.events],
                   'Events: server to client.'))
    o.append(macro('TS_ERRORS', ['X(%d, %s)' % e for e in spec.errors],
                   'Error codes carried by the error event.'))
    o.append(macro('TS_INTERFACES', ['X(%d, %s)' % (i, n)
                                     for i, n in enumerate(spec.interfaces)],
                   'The interfaces an object may have, a bit each in id masks.'))
    info = lambda m: 'X(%d, %s, "%s", "%s", %s, %d)' % (
        m.opcode, m.name, m.signature(), fields_string(m), m.interface, m.since)
    o.append(macro('TS_REQUEST_INFO', [info(m) for m in spec.requests],
                   'The interface each request belongs to and its first version.'))
    o.append(macro('TS_EVENT_INFO', [info(m) for m in spec.events]))
    o.append(macro('TS_REQUEST_ARGS', arg_lines(spec, spec.requests),
                   'Every field of every request, with what its type alone does not say.'))
    o.append(macro('TS_EVENT_ARGS', arg_lines(spec, spec.events)))
    o.append('''enum ts_request_opcode {
#define TS_X_(op, name, sig, fields) TS_REQ_##name = op,
\tTS_REQUESTS(TS_X_)
#undef TS_X_
\tTS_REQ_COUNT_
};

enum ts_event_opcode {
#define TS_X_(op, name, sig, fields) TS_EV_##name = op,
\tTS_EVENTS(TS_X_)
#undef TS_X_
\tTS_EV_COUNT_
};

enum ts_error_code {
#define TS_X_(code, name) TS_ERR_##name = code,
\tTS_ERRORS(TS_X_)
#undef TS_X_
\tTS_ERR_COUNT_
};

enum ts_interface_index {
#define TS_X_(index, name) TS_IFACE_##name = index,
\tTS_INTERFACES(TS_X_)
#undef TS_X_
\tTS_IFACE_COUNT_
};

/* Masks of the interfaces an id field accepts: one per interface and family. */
#define TS_IFACE_MASK_ANY 0xffffffffu
''')
    for n in spec.interfaces:
        o.append('#define TS_IFACE_MASK_%s (1u << TS_IFACE_%s)\n' % (n, n))
    for fam, members in spec.families.items():
        o.append('#define TS_IFACE_MASK_%s (%s)\n' % (
            fam, ' | '.join('TS_IFACE_MASK_' + m for m in members)))
    o.append('\n/* Framing limits. */\n')
    for n, v, comment in spec.limits:
        value = ('0x%08x' % v) if v > 0xffff else str(v)
        line = '#define TS_%s %su' % (n.upper(), value)
        if comment:
            line = '%-32s // %s' % (line, comment)
        o.append(line + '\n')
    o.append('\n#endif\n')
    return ''.join(o)


def gen_json(spec, src):
    def message(m):
        fields = []
        for f in m.fields:
            d = {'name': f.name, 'type': f.type}
            if f.interface is not None:
                d['interface'] = f.interface
                d['interfaces'] = spec.mask_of(f.interface)
            if f.type == 'o':
                d['nullable'] = f.nullable
            if f.type == 'a':
                d['element_size'] = f.elem_size
            fields.append(d)
        return {'opcode': m.opcode, 'name': m.name, 'interface': m.interface,
                'since': m.since, 'signature': m.signature(), 'fields': fields}
    doc = {
        'generated_from': src,
        'version': spec.version,
        'limits': dict((n, v) for n, v, _ in spec.limits),
        'interfaces': spec.interfaces,
        'families': dict(spec.families, **{ANY: list(spec.interfaces)}),
        'requests': [message(m) for m in spec.requests],
        'events': [message(m) for m in spec.events],
        'errors': [{'code': c, 'name': n} for c, n in spec.errors],
    }
    return json.dumps(doc, indent=1) + '\n'


C_TYPES = {'u': 'uint32_t', 'i': 'int32_t', 'f': 'int32_t', 'n': 'uint32_t',
           'o': 'uint32_t', 's': 'const char *', 'h': 'int'}
ARG_MEMBER = {'u': 'u', 'i': 'i', 'f': 'f', 'n': 'u', 'o': 'u', 's': 's', 'h': 'h'}


def stub_params(m):
    params = ['struct ts_display *display']
    for f in m.fields:
        if f.type == 'a':
            params.append('const void *%s, uint32_t %s_size' % (f.name, f.name))
        else:
            params.append('%s%s%s' % (C_TYPES[f.type],
                                      '' if C_TYPES[f.type].endswith('*') else ' ', f.name))
    return ', '.join(params)


def stub(m):
    o = ['static inline int ts__req_%s(%s) {\n' % (m.name, stub_params(m))]
    if not m.fields:
        o.append('\treturn display_queue(display, TS_REQ_%s, (const union ts_arg *)0);\n'
                 % m.name)
    else:
        inits = []
        for f in m.fields:
            if f.type == 'a':
                inits.append('{ .a = { .data = %s, .size = %s_size } }' % (f.name, f.name))
            else:
                inits.append('{ .%s = %s }' % (ARG_MEMBER[f.type], f.name))
        o.append('\tconst union ts_arg args[] = {\n')
        o.append(''.join('\t\t%s,\n' % i for i in inits))
        o.append('\t};\n')
        o.append('\treturn display_queue(display, TS_REQ_%s, args);\n' % m.name)
    o.append('}\n\n')
    return ''.join(o)


def gen_client_header(spec, src):
    o = [HEADER % src, '''/*
 * libtessera's request stubs, one per request, and the handlers of events the
 * generated dispatch table (client-protocol.c) calls. Internal: libtessera.map exports
 * none of them.
 */
#ifndef TESSERA_CLIENT_PROTOCOL_H
#define TESSERA_CLIENT_PROTOCOL_H

#include "client-private.h"

/*
 * The request stubs: each queues its request with typed fields, as display_queue does
 * (0, or -1 with errno set). Fixed-point fields take 16.16 values
 * (ts_fixed_from_double); an array takes its bytes and their count; the connection
 * owns an fd from the call on. Inline, so that a public call such as
 * ts_rect_set_position costs what it did when it queued its fields itself.
 */
''']
    for m in spec.requests:
        o.append(stub(m))
    o.append('''/** What handles one event: 0, or -1 when the connection failed (the sticky error). */
typedef int (*ts__event_handler)(struct ts_display *display, const union ts_arg *args);

/** The handlers of the events, defined in client.c and introspect.c. */
''')
    for m in spec.events:
        o.append('int ts__handle_%s(struct ts_display *display, const union ts_arg *args);\n'
                 % m.name)
    o.append('''
/** The handler of every event, indexed by opcode. */
extern const ts__event_handler ts__event_handlers[TS_EV_COUNT_];

#endif
''')
    return ''.join(o)


def gen_client_code(spec, src):
    o = [HEADER % src, '#include "client-protocol.h"\n\n']
    o.append('const ts__event_handler ts__event_handlers[TS_EV_COUNT_] = {\n')
    for m in spec.events:
        o.append('\t[TS_EV_%s] = ts__handle_%s,\n' % (m.name, m.name))
    o.append('};\n')
    return ''.join(o)


GENERATORS = {'header': [gen_header], 'json': [gen_json],
              'client': [gen_client_code, gen_client_header]}


def main(argv):
    if len(argv) < 4 or argv[1] not in GENERATORS or \
            len(argv) != 3 + len(GENERATORS[argv[1]]):
        sys.stderr.write('usage: scanner.py {header,json} SPEC OUT\n'
                         '       scanner.py client SPEC OUT.c OUT.h\n')
        return 2
    try:
        spec = parse(argv[2])
    except (SpecError, OSError) as e:
        sys.stderr.write('scanner.py: %s\n' % e)
        return 1
    # Only the file's name goes into the output: no path of the machine that built it.
    src = re.sub(r'.*[/\\]', '', argv[2])
    for gen, out in zip(GENERATORS[argv[1]], argv[3:]):
        text = gen(spec, src)
        with open(out, 'w', encoding='utf-8') as f:
            f.write(text)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
