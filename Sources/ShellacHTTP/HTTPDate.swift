// HTTPDate: parsing and formatting HTTP dates (RFC 9110 §5.6.7) without Foundation.
// Times are seconds since the Unix epoch as Double; parsing accepts IMF-fixdate, RFC 850 and
// asctime forms, formatting always produces IMF-fixdate.

public enum HTTPDate {
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    private static let weekdays = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"]  // 1970-01-01 was a Thursday

    /// Formats `time` (seconds since the epoch) as "Sun, 06 Nov 1994 08:49:37 GMT".
    public static func format(_ time: Double) -> String {
        let seconds = Int64(time.rounded(.down))
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        let (year, month, day) = civil(fromDays: days)
        let weekday = weekdays[Int(((days % 7) + 7) % 7)]
        return "\(weekday), \(pad2(day)) \(months[month - 1]) \(year) \(pad2(Int(secondOfDay / 3600))):"
            + "\(pad2(Int(secondOfDay % 3600 / 60))):\(pad2(Int(secondOfDay % 60))) GMT"
    }

    /// Parses any of the three HTTP date formats; nil when invalid.
    public static func parse(_ text: some StringProtocol) -> Double? {
        // Nearly every date is an IMF-fixdate: read it from the bytes where they stand.
        if let contiguous = text.utf8.withContiguousStorageIfAvailable(fixdate), let date = contiguous { return date }
        return parseForms(text)
    }

    /// "Sun, 06 Nov 1994 08:49:37 GMT" exactly (29 bytes); nil for anything else, which then
    /// goes through the general parse.
    private static func fixdate(_ b: UnsafeBufferPointer<UInt8>) -> Double? {
        guard b.count == 29, b[3] == UInt8(ascii: ","), b[4] == 0x20, b[7] == 0x20, b[11] == 0x20, b[16] == 0x20,
              b[19] == UInt8(ascii: ":"), b[22] == UInt8(ascii: ":"), b[25] == 0x20, b[26] == UInt8(ascii: "G"),
              b[27] == UInt8(ascii: "M"), b[28] == UInt8(ascii: "T"), b[0] != 0x20, b[1] != 0x20, b[2] != 0x20 else {
            return nil
        }
        // Digits as bytes minus "0": a byte that was not a digit is then 10 or more (one below
        // "0" wraps around to 208 and up), so one comparison each checks them.
        let d = (b[5] &- 48, b[6] &- 48, b[12] &- 48, b[13] &- 48, b[14] &- 48, b[15] &- 48,
                 b[17] &- 48, b[18] &- 48, b[20] &- 48, b[21] &- 48, b[23] &- 48, b[24] &- 48)
        guard d.0 < 10 && d.1 < 10 && d.2 < 10 && d.3 < 10 && d.4 < 10 && d.5 < 10 && d.6 < 10 && d.7 < 10
                && d.8 < 10 && d.9 < 10 && d.10 < 10 && d.11 < 10 else { return nil }
        let monthKey = UInt32(b[8]) << 16 | UInt32(b[9]) << 8 | UInt32(b[10])
        guard let monthIndex = monthKeys.firstIndex(of: monthKey) else { return nil }
        let month = monthIndex + 1
        let day = Int(d.0) * 10 + Int(d.1)
        let year = Int(d.2) * 1000 + Int(d.3) * 100 + Int(d.4) * 10 + Int(d.5)
        let h = Int(d.6) * 10 + Int(d.7), m = Int(d.8) * 10 + Int(d.9), s = Int(d.10) * 10 + Int(d.11)
        guard (1...31).contains(day), year >= 1900, (0...23).contains(h), (0...59).contains(m), (0...60).contains(s) else {
            return nil
        }
        return Double(daysFromCivil(year: year, month: month, day: day) * 86_400 + Int64(h * 3600 + m * 60 + s))
    }

    /// Each month's three letters as one number, compared in one step.
    private static let monthKeys: [UInt32] = months.map { name in name.utf8.prefix(3).reduce(0) { $0 << 8 | UInt32($1) } }

    private static func parseForms(_ text: some StringProtocol) -> Double? {
        let parts = Substring(text).split(whereSeparator: { $0 == " " })
        // IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT
        if parts.count == 6, parts[0].hasSuffix(","), parts[5] == "GMT" {
            return make(day: Int(parts[1]), month: month(parts[2]), year: Int(parts[3]), time: parts[4])
        }
        // RFC 850: Sunday, 06-Nov-94 08:49:37 GMT
        if parts.count == 4, parts[0].hasSuffix(","), parts[3] == "GMT" {
            let dmy = parts[1].split(separator: "-")
            guard dmy.count == 3, var year = Int(dmy[2]) else { return nil }
            if dmy[2].count == 2 { year += year < 70 ? 2000 : 1900 }
            return make(day: Int(dmy[0]), month: month(dmy[1]), year: year, time: parts[2])
        }
        // asctime: Sun Nov  6 08:49:37 1994
        if parts.count == 5 {
            return make(day: Int(parts[2]), month: month(parts[1]), year: Int(parts[4]), time: parts[3])
        }
        return nil
    }

    private static func month(_ s: Substring) -> Int? {
        months.firstIndex { $0 == s }.map { $0 + 1 }
    }

    private static func make(day: Int?, month: Int?, year: Int?, time: Substring) -> Double? {
        guard let day, let month, let year, (1...31).contains(day), year >= 1900, year < 10000 else { return nil }
        let hms = time.split(separator: ":")
        guard hms.count == 3, let h = Int(hms[0]), let m = Int(hms[1]), let s = Int(hms[2]),
              (0...23).contains(h), (0...59).contains(m), (0...60).contains(s) else { return nil }
        let days = daysFromCivil(year: year, month: month, day: day)
        return Double(days * 86_400 + Int64(h * 3600 + m * 60 + s))
    }

    /// Days since 1970-01-01 for a proleptic Gregorian date (Howard Hinnant's algorithm).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int64 {
        let y = Int64(month <= 2 ? year - 1 : year)
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = Int64((month + 9) % 12)
        let doy = (153 * mp + 2) / 5 + Int64(day) - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    static func civil(fromDays days: Int64) -> (year: Int, month: Int, day: Int) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = Int(doy - (153 * mp + 2) / 5 + 1)
        let month = Int(mp < 10 ? mp + 3 : mp - 9)
        let year = Int(yoe + era * 400) + (month <= 2 ? 1 : 0)
        return (year, month, day)
    }

    private static func pad2(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
}
