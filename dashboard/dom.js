// Small DOM helpers shared by the sections: build elements, and numbers that carry their raw
// value (`data-value`, the API's number as `String(n)` or "null") and format (`data-format`).
import { dataValue, formatNumber } from './format.js';

/** `h('td', { class: 'x', dataset: { field: 'requests' } }, child, 'text', ...)`. */
export function h(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
        if (value === null || value === undefined || value === false) continue;
        if (key === 'dataset') Object.assign(node.dataset, value);
        else if (key === 'class') node.className = value;
        else node.setAttribute(key, value === true ? '' : String(value));
    }
    node.append(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
    return node;
}

/** A number of the API as an element: its text `formatNumber(value, format)`. */
export function numberEl(tag, attrs, value, format) {
    const node = h(tag, attrs, formatNumber(value, format));
    node.dataset.value = dataValue(value);
    node.dataset.format = format;
    return node;
}

/** A table with a header row, inside a container that scrolls sideways on its own if it must. */
export function table(columns, rows, caption) {
    const head = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.numeric ? 'numeric' : null }, c.label))));
    return h('div', { class: 'table-scroll', tabindex: '0' },
        h('table', {}, caption ? h('caption', { class: 'visually-hidden' }, caption) : null, head, h('tbody', {}, rows)));
}

/** The text a section shows instead of data. */
export function note(text, className = 'empty') {
    return h('p', { class: className }, text);
}

/** Fills a <select> with [{ value, label, data }] and selects `selected` when it is there. */
export function fillSelect(select, options, selected) {
    select.replaceChildren(...options.map((o) => h('option', { value: o.value, dataset: o.data }, o.label)));
    if (options.some((o) => o.value === selected)) select.value = selected;
}
