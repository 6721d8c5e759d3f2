'use strict'
// @vates/cached-dns.lookup is not on the npm registry this project reaches; the
// backup tests read a file:// repository and never resolve a name.
exports.createCachedLookup = () => ({ patchGlobal () {} })
