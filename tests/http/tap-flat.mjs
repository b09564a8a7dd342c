// A node:test reporter that prints flat TAP for prove: one "ok N - file: suite > test" line per
// test (suites are not lines of their own unless they fail by themselves), the plan at the end,
// and the reason of each failure on stderr, which prove always shows.
//
//   node --test --test-reporter=./tap-flat.mjs ...
import { basename } from 'node:path';
import { inspect } from 'node:util';

function describeError(error) {
    // node:test wraps what the test threw in ERR_TEST_FAILURE; the cause is the real error.
    const cause = error?.cause ?? error;
    if (cause instanceof Error) {
        let text = cause.stack || `${cause.name}: ${cause.message}`;
        if (cause.code === 'ERR_ASSERTION' && !text.includes(cause.message)) text = `${cause.message}\n${text}`;
        // node's own frames say nothing about the test
        return text.split('\n').filter((l) => !/\((node:|file:\/\/.*node_modules)/.test(l) && !/^\s+at node:/.test(l)).join('\n');
    }
    return inspect(cause, { depth: 4 });
}

// Written straight to stdout and stderr (synchronous for pipes and files), so each failure's
// reason comes right after its line.
const out = (text) => process.stdout.write(text);
const err = (text) => process.stderr.write(text);

export default async function* flatTap(source) {
    out('TAP version 13\n');
    let count = 0;
    let failed = 0;
    const names = [];                     // names[nesting] of the tests started, per file
    for await (const { type, data } of source) {
        if (type === 'test:start') {
            names[data.nesting] = data.name;
            names.length = data.nesting + 1;
            continue;
        }
        if (type === 'test:diagnostic') {
            if (data.file) out(`# ${data.message}\n`);
            continue;
        }
        if (type === 'test:stderr' || type === 'test:stdout') {
            err(data.message);
            continue;
        }
        if (type !== 'test:pass' && type !== 'test:fail') continue;
        const error = data.details?.error;
        const isSuite = data.details?.type === 'suite';
        const isFileWrapper = data.file && data.name === data.file;
        // A suite or a file is its tests; it is a line of its own only when it failed by itself
        // (a hook or its body threw, the file did not load).
        if ((isSuite || isFileWrapper) && (type === 'test:pass' || error?.failureType === 'subtestsFailed')) continue;
        const path = [...names.slice(0, data.nesting), data.name].filter((n) => n !== data.file);
        const file = data.file ? `${basename(data.file).replace(/\.test\.mjs$/, '')}: ` : '';
        const title = `${file}${path.join(' > ') || '(the file itself)'}`.replace(/#/g, '\\#').replace(/\n/g, ' ');
        count += 1;
        let directive = '';
        if (data.skip !== undefined) directive = ` # SKIP${typeof data.skip === 'string' ? ` ${data.skip}` : ''}`;
        if (data.todo !== undefined) directive = ` # TODO${typeof data.todo === 'string' ? ` ${data.todo}` : ''}`;
        if (type === 'test:pass') {
            out(`ok ${count} - ${title}${directive}\n`);
        } else {
            if (data.todo === undefined) failed += 1;
            out(`not ok ${count} - ${title}${directive}\n`);
            const lines = describeError(error).split('\n').map((l) => `#   ${l}`);
            err(`#   Failed test '${title}'\n${lines.join('\n')}\n`);
        }
    }
    out(`1..${count}\n`);
    if (failed > 0) out(`# ${failed} of ${count} tests failed\n`);
    yield '';
}
