'use strict'
// @vates/parse-duration is not on the npm registry this project reaches; the
// backup tests never parse a job's duration setting.
exports.parseDuration = value => {
  throw new Error('@vates/parse-duration is a stub in these tests: ' + value)
}
