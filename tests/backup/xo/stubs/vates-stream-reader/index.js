'use strict'
// @vates/stream-reader is not on the npm registry this project reaches; vhd-lib
// uses it only in vhdStreamValidator, which the backup tests never call.
module.exports = class StreamReader {
  constructor () {
    throw new Error('@vates/stream-reader is a stub in these tests')
  }
}
