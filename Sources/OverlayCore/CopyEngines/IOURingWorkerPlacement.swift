import OverlaySystem

/// Where a ring's io-wq workers run for the next copy.
///
/// Some requests always reach an io-wq worker: every splice, and every buffered write to a
/// filesystem that cannot take one without blocking (ext4: an `iou-wrk-<pid>` thread does each
/// write). Left to the scheduler, the worker wakes on another CPU, and on a virtual machine
/// waking an idle virtual CPU and then the waiting submitter costs tens of microseconds per
/// hand-off, more than a small copy itself. A copy of one block has nothing to run in parallel,
/// so its worker is kept on the submitter's CPU: the submitter sleeps in `io_uring_enter(2)` and
/// the worker runs there at once, a plain context switch each way. Copies of several blocks let
/// workers use every CPU. Measured on 2 vCPUs, kernel 6.18, ext4 (`run copy`, 20 samples): a
/// 4 KiB copy 75 → 15–21 µs and a 1 MiB copy 246 → 170–195 µs on the submitter's CPU, while
/// 64 MiB copies ran 5–10% slower there, hence the split.
struct IOURingWorkerPlacement {
    private enum Placement: Equatable { case anywhere, cpu(Int) }

    /// What the ring is set to now; the kernel's default is anywhere.
    private var current = Placement.anywhere
    /// Set once placing failed (a kernel before 5.14): every copy then runs as the kernel places it.
    private var unsupported = false

    /// Places `ring`'s workers for a copy: on this thread's CPU when `local`, else anywhere.
    /// Changes the ring (one `io_uring_register(2)`) only when the placement differs. It is an
    /// optimisation: when the kernel refuses, copies go on as the kernel places them.
    mutating func place(_ ring: IOURing, local: Bool) {
        guard !unsupported else { return }
        let wanted = local ? IOURing.currentCPU.map(Placement.cpu) ?? .anywhere : .anywhere
        guard wanted != current else { return }
        do {
            switch wanted {
            case .cpu(let cpu): try ring.restrictWorkers(toCPU: cpu)
            case .anywhere: try ring.releaseWorkers()
            }
            current = wanted
        } catch {
            unsupported = true
        }
    }
}
