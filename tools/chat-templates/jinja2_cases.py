#!/usr/bin/env python3
"""Writes tests/fixtures/chat-templates/jinja2-cases.json: small templates, each rendered by Python's jinja2 in the
environment transformers' apply_chat_template builds (ImmutableSandboxedEnvironment with trim_blocks and
lstrip_blocks, the loopcontrols extension, the {% generation %} tag, transformers' tojson filter and its
raise_exception and strftime_now globals), with the output jinja2 gives or the class and message of the error it
raises. Jinja2CaseTests renders each case with QuantTune's engine and compares.

  python3 tools/chat-templates/jinja2_cases.py      (needs jinja2 3.1.x: pip install jinja2==3.1.6)

A case is (name, template, context); the context's variables are passed to render() as transformers passes its
keyword arguments. Add a case here and rerun; never edit the JSON by hand.
"""
import json, os

import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from transformers_env import environment  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
OUT = os.path.join(ROOT, "tests", "fixtures", "chat-templates", "jinja2-cases.json")


TREE = [{"n": 1, "c": [{"n": 2, "c": [{"n": 3, "c": []}]}]}, {"n": 4, "c": []}]
PEOPLE = [{"name": "Ann", "city": "Oslo"}, {"name": "Bo", "city": "rome"}, {"name": "Cy", "city": "oslo"}, {"name": "Di", "city": "Rome"}]
MESSAGES = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]

CASES = [
    # list and dict methods: the sandbox refuses the ones that change their object
    ("list.append refused", "{% set x = [1, 2] %}{% set _ = x.append(3) %}{{ x }}", {}),
    ("list.append on messages refused", "{{ messages.append({'role': 'user'}) }}", {"messages": MESSAGES}),
    ("list.pop refused", "{% set x = [1, 2, 3] %}{{ x.pop() }}", {}),
    ("list.insert refused", "{% set x = [1] %}\n{{ x.insert(0, 5) }}", {}),
    ("list.extend refused", "{% set x = [1] %}{{ x.extend([4]) }}", {}),
    ("list.sort refused", "{{ [3, 1].sort() }}", {}),
    ("list.remove refused", "{{ [3, 1].remove(1) }}", {}),
    ("dict.update refused", "{% set d = {'a': 1} %}{% set _ = d.update({'b': 2}) %}{{ d }}", {}),
    ("dict.pop refused", "{{ {'a': 1}.pop('a') }}", {}),
    ("dict.setdefault refused", "{{ {'a': 1}.setdefault('b', 2) }}", {}),
    ("refused method is undefined, not called", "[{{ [3, 1].append }}] {{ [3, 1].append is defined }} [{{ [1]['append'] }}]", {}),
    ("list.index and count", "{% set x = [1, 2, 2, 3] %}{{ x.index(2) }} {{ x.index(2, 2) }} {{ x.count(2) }} {{ x.count(9) }} {{ x.index(3, -2) }}", {}),
    ("list.index missing", "{{ [1, 2].index(5) }}", {}),
    ("tuple index and count", "{{ (1, 2, 1).count(1) }}{{ (1, 2).index(2) }}", {}),
    ("list.copy and dict.copy", "{% set x = [1, [2]] %}{% set d = {'a': 1, 'b': [2]} %}{{ x.copy() }} {{ d.copy() }} {{ d.copy() == d }}", {}),
    ("message list methods", "{{ messages.index(messages[1]) }}{{ messages.count(messages[0]) }}", {"messages": MESSAGES}),
    # more string methods, the center filter, filtered block set, block
    ("string justify", "{{ 'ab'.ljust(5, '*') }}|{{ 'ab'.rjust(5) }}|{{ 'ab'.center(7, '-') }}|{{ 'abc'.center(6) }}|{{ '-42'.zfill(6) }}|{{ '+7'.zfill(4) }}|{{ 'x'.zfill(0) }}|{{ 'abc' | center(9) }}|{{ 'abc' | center }}|", {}),
    ("string partition", "{{ 'a=b=c'.partition('=') }}|{{ 'a=b=c'.rpartition('=') }}|{{ 'abc'.partition('z') }}|{{ 'abc'.rpartition('z') }}", {}),
    ("string prefix suffix index", "{{ 'prefix-x'.removeprefix('prefix-') }}|{{ 'x.txt'.removesuffix('.txt') }}|{{ 'abcb'.index('b') }}|{{ 'abcb'.rindex('b') }}|{{ 'abc'.startswith('b', 1) }}{{ 'abc'.endswith('b', 0, 2) }}{{ 'abc'.startswith('a', 1) }}", {}),
    ("string index missing", "{{ 'abc'.index('z') }}", {}),
    ("string predicates", "{{ 'a1'.isalnum() }}{{ '12'.isnumeric() }}{{ '12'.isdecimal() }}{{ 'Ab Cd'.istitle() }}{{ 'aB'.swapcase() }}{{ 'ABC'.casefold() }}{{ ''.isalnum() }}", {}),
    ("block set with filters", "{% set x | trim | upper %}  hello  {% endset %}[{{ x }}]", {}),
    ("block renders in place", "{% block content %}B{{ 1 }}{% endblock %}|{% block other %}C{% endblock other %}", {}),
    # str.format
    ("format positional", "{{ '{} and {}'.format(1, 'b') }}|{{ '{1}{0}{1}'.format('a', 'b') }}", {}),
    ("format keywords", "{{ '{a}-{b}'.format(a=1, b='two') }}", {}),
    ("format item and attribute", "{{ '{0[x]} {1[0]} {0.x}'.format({'x': 5}, [7]) }}", {}),
    ("format escaped braces", "{{ '{{}} {}'.format(1) }}", {}),
    ("format specs", "{{ '{:>6}|{:<4}|{:^7}|{:05d}|{:.3f}|{:x}|{:,}|{!r}'.format('ab', 'c', 'mid', 42, 3.14159, 255, 1234567, 'q') }}", {}),
    ("format number specs", "{{ '{:+d}|{: d}|{:=+6d}|{:*^9}|{:#x}|{:b}|{:%}|{:.1%}|{:e}|{:g}|{:10.3e}|{:_}'.format(5, 5, 5, 'x', 255, 5, 0.25, 0.25, 1234.5, 1234.5, 0.00012, 10000000) }}", {}),
    ("format general floats", "{{ '{:.2}|{:.2}|{}|{}|{}|{:d}|{:.3}|{:.5}|{:g}|{:g}'.format(3.14159, 'abc', 1.0, none, true, true, 100.0, 100.0, 1e-05, 1e16) }}", {}),
    ("format precision without type", "{{ '{:.1}|{:.1}|{:.2}|{:.2}|{:.4}|{:.3}|{:.0}'.format(1.0, 9.5, 0.0001, 12.0, 1234.0, 0.0, 5.0) }}", {}),
    ("format rounding half to even", "{{ '{:.1f} {:.1f} {:.2f} {:.0f} {:.0f} {:.3e}'.format(2.25, 0.35, 1.005, 0.5, 1.5, 12345.5) }}", {}),
    ("format nested width", "{{ '[{:>{}}]'.format('x', 5) }}", {}),
    ("format lists and dicts", "{{ '{}'.format([1, 'a']) }} {{ '{}'.format({'k': none}) }}", {}),
    ("format undefined", "[{{ '{}'.format(nothing) }}]", {}),
    ("format mixed numbering", "{{ '{} {0}'.format(1) }}", {}),
    ("format missing argument", "{{ '{} {}'.format(1) }}", {}),
    ("format wrong code", "{{ '{:d}'.format('x') }}", {}),
    ("format sandboxed attribute", "[{{ '{0.__class__}'.format(1) }}]", {}),
    # % formatting and the format filter
    ("percent conversions", "{{ '%s-%r-%d-%i-%5.1f-%-5s|%05d|%x|%X|%o|%e|%g|%%|%c' % ('s', 's', 3.9, true, 2.25, 'ab', -42, 255, 255, 8, 12345.678, 0.0001, 65) }}", {}),
    ("percent mapping", "{{ '%(a)s and %(b)03d' % {'a': 'x', 'b': 2} }}", {}),
    ("percent single values", "{{ '%s' % [1, 2] }}|{{ '%s' % (1,) }}|{{ '%s' % none }}|{{ '%s' % true }}|{{ '%r' % none }}|{{ '%.2s' % 'abc' }}|{{ '%*d' % (5, 3) }}|{{ '%+.3d' % 7 }}|{{ '%#x' % 255 }}", {}),
    ("percent with message fields", "{% for m in messages %}{{ '%-10s|%s\n' % (m.role, m.content) }}{% endfor %}", {"messages": MESSAGES}),
    ("percent too few values", "{{ '%s %s' % (1,) }}", {}),
    ("percent too many values", "{{ '%s' % (1, 2) }}", {}),
    ("percent wrong type", "{{ '%d' % 'x' }}", {}),
    ("percent on numbers stays modulo", "{{ 7 % 3 }} {{ -7 % 3 }} {{ 7.5 % 2 }}", {}),
    ("percent undefined", "[{{ '%s' % nothing }}]", {}),
    ("format filter", "{{ '%s=%d' | format('x', 3) }}|{{ '%(a)s' | format(a=1) }}|{{ '%s' | format([1, 2]) }}", {}),
    ("character conversions", "{{ '{:>5}'.format(true) }}|{{ '{:c}'.format(65) }}|{{ '%c' % 'z' }}|{{ '%3c' % 66 }}", {}),
    ("character out of range", "{{ '%c' % 1114112 }}", {}),
    ("character out of range in a filter block", "{% filter format(1114112) %}%c{% endfilter %}", {}),
    ("format filter mixed arguments", "{{ '%s' | format(1, a=2) }}", {}),
    # groupby and truncate
    ("groupby", "{% for city, people in people | groupby('city') %}{{ city }}: {{ people | map(attribute='name') | join(', ') }}; {% endfor %}", {"people": PEOPLE}),
    ("groupby case sensitive", "{% for g in people | groupby('city', case_sensitive=true) %}{{ g.grouper }}={{ g.list | length }};{% endfor %}", {"people": PEOPLE}),
    ("groupby printed", "{{ [{'a': 'X'}, {'a': 'x'}, {'a': 'y'}] | groupby('a') }}", {}),
    ("groupby default", "{% for g in [{'a': 1}, {'b': 2}] | groupby('a', default=0) %}{{ g.grouper }}={{ g.list }};{% endfor %}", {}),
    ("groupby missing attribute", "{% for g in [{'a': 1}, {'b': 2}] | groupby('a') %}{{ g.grouper }};{% endfor %}", {}),
    ("groupby nested attribute", "{% for g in messages | groupby('role') %}{{ g.grouper }}:{{ g.list | length }} {% endfor %}", {"messages": MESSAGES + MESSAGES}),
    ("truncate", "{{ 'hello world foo bar' | truncate(9) }}|{{ 'hello world' | truncate(5, true) }}|{{ 'hello world' | truncate(7, leeway=0) }}|{{ 'helloworldfoo' | truncate(5, leeway=0) }}|{{ 'short' | truncate(3) }}|{{ 'abcdefghij' | truncate(6, true, '~', 0) }}", {}),
    ("truncate default length", "{{ ('word ' * 60) | truncate | length }}", {}),
    ("truncate shorter than end", "{{ 'hello world' | truncate(2) }}", {}),
    # loops
    ("loop.changed", "{% for m in messages %}{% if loop.changed(m.role) %}[{{ m.role }}]{% endif %}{{ m.content }} {% endfor %}", {"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, {"role": "assistant", "content": "c"}, {"role": "user", "content": "d"}]}),
    ("loop.changed alternating", "{% for x in [1, 2, 1] %}{{ loop.changed(x) }}{{ loop.changed(x, 1) }}{% endfor %}", {}),
    ("loop.cycle previtem nextitem", "{% for x in ['a', 'b', 'c'] %}{{ loop.cycle('odd', 'even') }}:{{ loop.previtem | default('-') }}{{ x }}{{ loop.nextitem | default('-') }} {% endfor %}", {}),
    ("loop printed", "{% for x in [1, 2] %}{{ loop }}{% endfor %}", {}),
    ("recursive loop", "{% for x in tree recursive %}{{ loop.depth }}{{ loop.depth0 }}:{{ x.n }}{% if x.c %}[{{ loop(x.c) }}]{% endif %}{% endfor %}", {"tree": TREE}),
    ("recursive loop of lists", "{% for x in [[1, 2], [3]] recursive %}{{ loop.index }}{% if x is iterable %}<{{ loop(x) }}>{% else %}{{ x }}{% endif %}{% endfor %}", {}),
    ("recursive loop with else", "{% for x in tree recursive %}({{ x.n }}{{ loop(x.c) }}){% else %}-{% endfor %}", {"tree": TREE}),
    ("loop call without recursive", "{% for x in [1] %}{{ loop([2]) }}{% endfor %}", {}),
    # raw, with, do
    ("raw", "a\n  {% raw %}\nx {{ y }} {% if %}\n{# c #}\n{% endraw %}\nb", {}),
    ("raw with whitespace control", "a\n  {%- raw -%}\n x {{ y }} \n{%- endraw -%}\n b", {}),
    ("raw endraw line start", "{% raw %}x\n   {% endraw %}|{% raw %}x\n   {%+ endraw %}|{% raw %}a{% endraw +%}\n|", {}),
    ("raw holding a block end", "{% for x in [1] %}{% raw %}{% endfor %}{% endraw %}{% endfor %}", {}),
    ("with", "{% set a = 5 %}{% with a = 1, b = a %}{{ a }}{{ b }}{% set c = 3 %}{% endwith %}{{ a }}[{{ c }}]", {}),
    ("with without assignments", "{% with %}{% set a = 1 %}{{ a }}{% endwith %}[{{ a }}]", {}),
    ("with in a loop", "{% for m in messages %}{% with role = m.role | upper %}{{ role }}:{{ m.content }} {% endwith %}{% endfor %}", {"messages": MESSAGES}),
    ("do is not enabled", "{% set x = [] %}\n{% do x.append(1) %}{{ x }}", {}),
]


def main():
    env = environment()
    out = []
    for name, template, context in CASES:
        case = {"name": name, "template": template, "context": context}
        try:
            case["output"] = env.from_string(template).render(**context)
        except Exception as e:  # the class and message jinja2 gives are the expectation
            case["error"] = type(e).__name__
            case["message"] = str(e)
        out.append(case)
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(out, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print(f"{len(out)} cases -> {os.path.relpath(OUT, ROOT)} ({sum('error' in c for c in out)} errors)")


if __name__ == "__main__":
    main()
