// The admin channel's wire format: framing both ways, command-line words, the authentication answer.

import Testing
@testable import ShellacAdmin

@Suite struct CLIProtocolTests {
    @Test func responsesAreFramedAsVarnishFramesThem() throws {
        let response = CLIResponse(.ok, "PONG 1 1.0")
        #expect(response.encoded == "200 10      \nPONG 1 1.0\n")
        var bytes = Array((response.encoded + CLIResponse(.unknown, "").encoded).utf8)
        #expect(try CLIResponse.decode(&bytes) == response)
        #expect(try CLIResponse.decode(&bytes) == CLIResponse(.unknown, ""))
        #expect(bytes.isEmpty)
        var partial = Array("200 10      \nPONG".utf8)
        #expect(try CLIResponse.decode(&partial) == nil, "incomplete: wait for more")
        var garbage = Array("HTTP/1.1 200 OK\r\n".utf8)
        #expect(throws: CLIProtocolError.self) { try CLIResponse.decode(&garbage) }
    }

    @Test func commandLinesSplitIntoWordsWithQuoting() throws {
        #expect(try CLICommandLine.words("ban req.url ~ ^/news/") == ["ban", "req.url", "~", "^/news/"])
        #expect(try CLICommandLine.words("  vcl.load  new \"/etc/my vcl/x.vcl\" ") == ["vcl.load", "new", "/etc/my vcl/x.vcl"])
        #expect(try CLICommandLine.words("ban obj.http.x ~ \"a \\\"b\\\"\"") == ["ban", "obj.http.x", "~", "a \"b\""])
        #expect(try CLICommandLine.words("") == [])
        #expect(throws: CLIProtocolError.self) { try CLICommandLine.words("ban \"open") }
        for word in ["plain", "with space", "quote\"inside", "back\\slash", ""] {
            #expect(try CLICommandLine.words("x " + CLICommandLine.quote(word)) == ["x", word])
        }
    }

    @Test func authenticationAnswerIsSHA256OverChallengeSecretChallenge() {
        let challenge = "abcdefghijklmnopqrstuvwxyzabcdef"
        // sha256("abcdefghijklmnopqrstuvwxyzabcdef\nsecret\nabcdefghijklmnopqrstuvwxyzabcdef\n")
        let answer = CLIAuthentication.answer(challenge: challenge, secret: Array("secret\n".utf8))
        #expect(answer == "4612dbda0cbd8dcf32665ded74ada5fb344bbaea6f2e41ad9a99688eab0784f4")
        #expect(answer == CLIAuthentication.answer(challenge: challenge, secret: Array("secret\n".utf8)))
        #expect(answer != CLIAuthentication.answer(challenge: challenge, secret: Array("secret".utf8)))
        #expect(CLIAuthentication.matches(answer, answer))
        #expect(!CLIAuthentication.matches(answer, String(answer.dropLast()) + "0"))
        let fresh = CLIAuthentication.challenge()
        #expect(fresh.count == 32)
        #expect(fresh.allSatisfy { $0 >= "a" && $0 <= "z" })
    }

    @Test func everyCommandHasHelp() {
        for command in AdminCommands.all {
            #expect(!command.help.isEmpty)
            #expect(AdminCommands.overview.contains(command.usage))
        }
    }
}
