import CLiburing
import Glibc

/// The calling thread's errno, read straight after the call that set it.
@usableFromInline
internal func systemErrno() -> CInt { Glibc.errno }
