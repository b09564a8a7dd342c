// One set of process listeners for every storage that handles signals: on SIGTERM or SIGINT,
// flush them all (bounded by their shutdownTimeoutMs), then raise the signal again so that the
// process ends as Node would have ended it, unless the application listens to that signal
// itself (it then decides). A second signal during that flush ends the process at once. On
// `beforeExit` (the event loop is empty), flush what is pending; the listeners keep nothing
// alive, and a flush that failed is not tried again on exit until new events come.

const SIGNALS = /** @type {const} */ (['SIGTERM', 'SIGINT']);

/**
 * @typedef {object} Flushable
 * @property {() => Promise<unknown>} shutdownFlush  flushes with the shutdown timeout
 * @property {() => boolean} wantsExitFlush  whether beforeExit should flush it
 */

/** @type {Set<Flushable>} */
const storages = new Set();
let installed = false;
let shuttingDown = false;

/** @param {NodeJS.Signals} signal */
function reraise(signal) {
    uninstall();
    process.kill(process.pid, signal);
}

/** @param {NodeJS.Signals} signal */
function onSignal(signal) {
    if (shuttingDown) {
        reraise(signal);
        return;
    }
    shuttingDown = true;
    Promise.allSettled([...storages].map((s) => s.shutdownFlush())).then(() => {
        shuttingDown = false;
        const others = process.listenerCount(signal) - (installed ? 1 : 0);
        if (others === 0) {
            reraise(signal);
        }
    });
}

function onBeforeExit() {
    for (const s of storages) {
        if (s.wantsExitFlush()) {
            s.shutdownFlush().catch(() => {});
        }
    }
}

const handlers = Object.fromEntries(SIGNALS.map((sig) => [sig, () => onSignal(sig)]));

function install() {
    if (!installed) {
        installed = true;
        for (const sig of SIGNALS) {
            process.on(sig, handlers[sig]);
        }
        process.on('beforeExit', onBeforeExit);
    }
}

function uninstall() {
    if (installed) {
        installed = false;
        for (const sig of SIGNALS) {
            process.removeListener(sig, handlers[sig]);
        }
        process.removeListener('beforeExit', onBeforeExit);
    }
}

/** @param {Flushable} storage */
export function register(storage) {
    storages.add(storage);
    install();
}

/** @param {Flushable} storage */
export function unregister(storage) {
    storages.delete(storage);
    if (storages.size === 0) {
        uninstall();
    }
}
