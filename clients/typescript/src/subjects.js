// What is measured: requests to routes (with their HTTP method) or executions of named
// operations. Everything else is one implementation parameterized by these descriptors.

/**
 * @typedef {object} Subject
 * @property {'route' | 'operation'} kind
 * @property {'route' | 'operation'} nameKey  the JSON key and argument name of the name
 * @property {boolean} hasMethod
 * @property {string} recordFn  the batch recording function
 * @property {string} readFn  the report function
 * @property {string} totalColumn  the report's count column
 * @property {string} totalField  the typed row's count field
 */

/** @type {Readonly<Subject>} */
export const ROUTE = Object.freeze({
    kind: 'route',
    nameKey: 'route',
    hasMethod: true,
    recordFn: 'record_route_metrics',
    readFn: 'get_route_metrics',
    totalColumn: 'total_requests',
    totalField: 'totalRequests',
});

/** @type {Readonly<Subject>} */
export const OPERATION = Object.freeze({
    kind: 'operation',
    nameKey: 'operation',
    hasMethod: false,
    recordFn: 'record_operation_metrics',
    readFn: 'get_operation_metrics',
    totalColumn: 'total_executions',
    totalField: 'totalExecutions',
});

export const SUBJECTS = Object.freeze([ROUTE, OPERATION]);
