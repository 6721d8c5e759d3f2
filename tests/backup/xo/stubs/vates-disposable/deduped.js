'use strict'
// XO's file-level restore dedupes its mounts with this decorator; the backup
// tests never mount anything, so the function is left as it is.
exports.deduped = fn => fn
