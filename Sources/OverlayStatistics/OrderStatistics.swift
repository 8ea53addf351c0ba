/// Medians and other order statistics without a full sort.
///
/// Bootstrap loops take thousands of medians of resamples, and Theil–Sen takes the median of
/// n(n−1)/2 slopes, so selection in linear expected time matters more here than anywhere else.
enum OrderStatistics {
    /// The median (the mean of the two middle values for an even count), as `numpy.median` takes it.
    static func median(_ values: [Double]) -> Double {
        var scratch = values
        return median(inPlace: &scratch)
    }

    /// The median of values already in ascending order.
    static func median(sorted values: [Double]) -> Double {
        precondition(!values.isEmpty, "the median of no values is undefined")
        let upperMiddle = values.count / 2
        return values.count % 2 == 1 ? values[upperMiddle] : (values[upperMiddle - 1] + values[upperMiddle]) / 2
    }

    /// The median of `values`, reordering them.
    static func median(inPlace values: inout [Double]) -> Double {
        precondition(!values.isEmpty, "the median of no values is undefined")
        let count = values.count
        let upperMiddle = count / 2
        return values.withUnsafeMutableBufferPointer { buffer in
            select(upperMiddle, in: buffer)
            let upper = buffer[upperMiddle]
            guard count % 2 == 0 else { return upper }
            // Selection left everything below upperMiddle no greater than it, so the lower
            // middle value is the largest of that part.
            var lower = buffer[0]
            for index in 1..<upperMiddle where buffer[index] > lower {
                lower = buffer[index]
            }
            return (lower + upper) / 2
        }
    }

    /// Places the `k`th smallest value at index `k`, smaller-or-equal values before it and
    /// greater-or-equal ones after it (Hoare's quickselect).
    ///
    /// The partition is three-way because benchmark samples are full of exact ties (timer
    /// granularity, identical slopes), which drive a two-way partition quadratic.
    static func select(_ k: Int, in buffer: UnsafeMutableBufferPointer<Double>) {
        var low = 0
        var high = buffer.count - 1
        while low < high {
            let middle = low + (high - low) / 2
            let pivot = medianOfThree(buffer[low], buffer[middle], buffer[high])
            var lessEnd = low
            var scan = low
            var greaterStart = high
            while scan <= greaterStart {
                if buffer[scan] < pivot {
                    buffer.swapAt(scan, lessEnd)
                    lessEnd += 1
                    scan += 1
                } else if buffer[scan] > pivot {
                    buffer.swapAt(scan, greaterStart)
                    greaterStart -= 1
                } else {
                    scan += 1
                }
            }
            if k < lessEnd {
                high = lessEnd - 1
            } else if k > greaterStart {
                low = greaterStart + 1
            } else {
                return
            }
        }
    }

    private static func medianOfThree(_ a: Double, _ b: Double, _ c: Double) -> Double {
        max(min(a, b), min(max(a, b), c))
    }
}
