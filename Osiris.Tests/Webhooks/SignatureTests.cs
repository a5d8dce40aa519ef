using System.Security.Cryptography;
using System.Text;
using Osiris.Api.Channels;
using Osiris.Api.Webhooks.Email;
using Osiris.Api.Webhooks.WhatsApp;

namespace Osiris.Tests.Webhooks;

/// <summary>The webhooks' signature checks and the title a channel message gets, as pure functions.</summary>
[Trait("Category", "Unit")]
public sealed class SignatureTests
{
    private const string Secret = "app-secret-for-tests";
    private static readonly byte[] Body = Encoding.UTF8.GetBytes("""{"object":"whatsapp_business_account","entry":[]}""");

    private static string Hex(byte[] key, byte[] data) => Convert.ToHexStringLower(HMACSHA256.HashData(key, data));

    [Fact]
    public void WhatsAppAcceptsOnlyTheHmacOfTheExactBodyInTheSha256Form()
    {
        var good = "sha256=" + Hex(Encoding.UTF8.GetBytes(Secret), Body);
        Assert.True(WhatsAppWebhookApi.SignatureMatches(good, Body, Secret));
        Assert.True(WhatsAppWebhookApi.SignatureMatches(good.ToUpperInvariant().Replace("SHA256=", "sha256="), Body, Secret));

        Assert.False(WhatsAppWebhookApi.SignatureMatches(good, [.. Body, (byte)' '], Secret)); // one byte more
        Assert.False(WhatsAppWebhookApi.SignatureMatches(good, Body, Secret + "x"));
        Assert.False(WhatsAppWebhookApi.SignatureMatches(good[7..], Body, Secret)); // no prefix
        Assert.False(WhatsAppWebhookApi.SignatureMatches("sha1=" + good[7..], Body, Secret));
        Assert.False(WhatsAppWebhookApi.SignatureMatches(good[..^2], Body, Secret)); // short
        Assert.False(WhatsAppWebhookApi.SignatureMatches("sha256=" + new string('z', 64), Body, Secret)); // not hex
        Assert.False(WhatsAppWebhookApi.SignatureMatches("", Body, Secret));
    }

    [Fact]
    public void MailgunAcceptsTheHmacOfTimestampAndTokenWithinFiveMinutes()
    {
        const string key = "mailgun-signing-key";
        var now = new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero);
        var timestamp = now.AddMinutes(-4).ToUnixTimeSeconds().ToString();
        const string token = "b2c1d0e9f8";
        var signature = Hex(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(timestamp + token));

        Assert.Null(EmailWebhookApi.MailgunSignatureProblem(key, timestamp, token, signature, now));
        Assert.Contains("does not match", EmailWebhookApi.MailgunSignatureProblem(key, timestamp, token + "x", signature, now));
        Assert.Contains("does not match", EmailWebhookApi.MailgunSignatureProblem("other-key", timestamp, token, signature, now));
        Assert.Contains("not hex", EmailWebhookApi.MailgunSignatureProblem(key, timestamp, token, "xyz", now));
        Assert.Contains("timestamp, token and signature", EmailWebhookApi.MailgunSignatureProblem(key, "", token, signature, now));
        Assert.Contains("5 minutes", EmailWebhookApi.MailgunSignatureProblem(key, timestamp, token, signature, now.AddMinutes(2)));

        // A signed timestamp far beyond any date is refused, not an exception.
        const string far = "99999999999999";
        Assert.Contains("5 minutes", EmailWebhookApi.MailgunSignatureProblem(key, far, token, Hex(Encoding.UTF8.GetBytes(key), Encoding.UTF8.GetBytes(far + token)), now));
    }

    [Theory]
    [InlineData("Hello, can you fix my invoice?\nThanks", "Hello, can you fix my invoice?")]
    [InlineData("\n\n   \n  Second line first  \nrest", "Second line first")]
    [InlineData("   \n\t\n", "fallback")]
    [InlineData("", "fallback")]
    public void ATitleIsTheFirstNonEmptyLine(string text, string title) =>
        Assert.Equal(title, ChannelIntake.TitleFrom(text, "fallback"));

    [Fact]
    public void ALongFirstLineIsCutToEightyCharacters()
    {
        var title = ChannelIntake.TitleFrom(new string('a', 200), "fallback");
        Assert.Equal(80, title.Length);
        Assert.EndsWith("...", title);
    }
}
