internal import CLiburing
internal import Glibc

/// The calling thread's errno, read straight after the call that set it.
internal func systemErrno() -> CInt { Glibc.errno }
