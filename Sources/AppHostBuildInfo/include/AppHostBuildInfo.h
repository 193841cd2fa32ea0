#ifndef APPHOST_BUILD_INFO_H
#define APPHOST_BUILD_INFO_H

/// The commit apphost was built from (APPHOST_BUILD_COMMIT when Package.swift was read, see there), or
/// an empty string when the build did not say.
const char *apphost_build_commit(void);

#endif
