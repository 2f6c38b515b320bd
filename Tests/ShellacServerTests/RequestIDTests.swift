// Request ids: written in decimal exactly as String(Int) would.

import Testing
@testable import ShellacServer

@Suite struct RequestIDTests {
    @Test func decimalsMatchTheStandardLibrary() {
        var values = [0, 1, 9, 10, 11, 99, 100, 101, 999_999_999_999_999, 1_000_000_000_000_000, Int.max]
        for power in 0..<19 { values += [Int(pow10: power) - 1, Int(pow10: power)] }
        for value in values { #expect(ServerServices.decimal(value) == String(value), "\(value)") }
    }
}

extension Int {
    fileprivate init(pow10 power: Int) {
        self = (0..<power).reduce(1) { result, _ in result * 10 }
    }
}
