// IPAddress.textV4: the dotted text written byte by byte, checked against the plain
// decimal rendering of every byte value in every position.

import ShellacHTTP
import Testing

@Suite struct IPAddressTextTests {
    @Test func everyByteValueInEveryPosition() {
        for value in 0...255 {
            let byte = UInt8(value)
            #expect(IPAddress.textV4(byte, 0, 0, 0) == "\(value).0.0.0")
            #expect(IPAddress.textV4(1, byte, 2, 3) == "1.\(value).2.3")
            #expect(IPAddress.textV4(255, 255, byte, 9) == "255.255.\(value).9")
            #expect(IPAddress.textV4(10, 0, 100, byte) == "10.0.100.\(value)")
        }
    }

    @Test func parsedAddressesPrintAsTheyWereWritten() {
        for text in ["127.0.0.1", "0.0.0.0", "255.255.255.255", "192.168.10.200", "8.8.4.4"] {
            #expect(IPAddress.text(IPAddress.parse(text)!) == text)
        }
        #expect(IPAddress.text(IPAddress.parse("2001:db8::7")!) == "2001:db8::7")
    }
}
