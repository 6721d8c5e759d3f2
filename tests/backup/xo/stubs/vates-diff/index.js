'use strict'
// @vates/diff is not on the npm registry this project reaches; vhd-lib uses it
// only in vhdStreamValidator, which the backup tests never call.
module.exports = function diff () {
  throw new Error('@vates/diff is a stub in these tests')
}
