using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using MimeKit;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Webhooks;

namespace Osiris.Tests.Security;

/// <summary>
/// Who an e-mail is from, as OSIRIS decides it on real Redis and PostgreSQL: an allowed address counts as trusted only
/// with an aligned pass from our own mail server; a stranger's reply into someone's thread opens its own task.
/// </summary>
[Collection(LocalBackbone.Name)]
public sealed class EmailTrustTests(LocalBackboneFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string NewDomain() => $"d{Guid.NewGuid():N}"[..12] + ".example";

    private static byte[] Mime(string from, string subject, string body, string messageId, string? authenticationResults = null, string? inReplyTo = null)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(from));
        message.To.Add(MailboxAddress.Parse("support@osiris.example"));
        message.Subject = subject;
        message.MessageId = messageId;
        if (inReplyTo is not null)
        {
            message.InReplyTo = inReplyTo;
        }
        if (authenticationResults is not null)
        {
            message.Headers.Add(HeaderId.AuthenticationResults, authenticationResults);
        }
        message.Body = new TextPart("plain") { Text = body };
        using var buffer = new MemoryStream();
        message.WriteTo(buffer);
        return buffer.ToArray();
    }

    private async Task<TaskDto> UploadAsync(byte[] mime, string? token = null)
    {
        using var http = fixture.Osiris.App.CreateHttpClient("api");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token ?? BackboneFixture.EmailIngestToken);
        using var content = new ByteArrayContent(mime);
        content.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        using var response = await http.PostAsync("/webhooks/email", content, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var receipt = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Ct);
        var id = receipt.GetProperty("taskId").GetGuid();
        return (await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{id}", OsirisJson.Options, Ct))!;
    }

    private async Task TrustAsync(string address)
    {
        using var response = await fixture.Api.PutAsJsonAsync($"/api/v1/senders/email/{address}", new { level = "trusted" }, Ct);
        response.EnsureSuccessStatusCode();
    }

    [Fact]
    public async Task AnAllowedSenderIsTrustedOnlyWithAnAlignedPassFromOurOwnServer()
    {
        fixture.RequireAvailable();
        var domain = NewDomain();
        var ceo = $"ceo@{domain}";
        await TrustAsync(ceo);
        var id = BackboneFixture.EmailAuthServId;

        var aligned = await UploadAsync(Mime(ceo, "Invoice", "Please send the invoice.", $"{Guid.NewGuid():N}@{domain}",
            $"{id}; dkim=pass header.d={domain} header.s=sel; spf=fail smtp.mailfrom=bounce@elsewhere.example"));
        Assert.Equal(SenderLevels.Trusted, aligned.SenderLevel);

        var forged = await UploadAsync(Mime(ceo, "Wire money", "Urgent: pay this.", $"{Guid.NewGuid():N}@evil.example"));
        Assert.Equal(SenderLevels.Unknown, forged.SenderLevel);

        var otherDomain = await UploadAsync(Mime(ceo, "Wire money", "Urgent.", $"{Guid.NewGuid():N}@evil.example",
            $"{id}; dkim=pass header.d=evil.example; spf=pass smtp.mailfrom=attacker@evil.example"));
        Assert.Equal(SenderLevels.Unknown, otherDomain.SenderLevel);

        var theirOwnHeader = await UploadAsync(Mime(ceo, "Wire money", "Urgent.", $"{Guid.NewGuid():N}@evil.example",
            $"mx.evil.example; dkim=pass header.d={domain}"));
        Assert.Equal(SenderLevels.Unknown, theirOwnHeader.SenderLevel);

        var parentDomain = await UploadAsync(Mime(ceo, "Hi", "Hello.", $"{Guid.NewGuid():N}@evil.example",
            $"{id}; dkim=pass header.d=example"));
        Assert.Equal(SenderLevels.Unknown, parentDomain.SenderLevel);
    }

    [Fact]
    public async Task AMailgunPostIsTrustedOnlyWithItsSpfPassForTheFromDomain()
    {
        fixture.RequireAvailable();
        var domain = NewDomain();
        var ana = $"ana@{domain}";
        await TrustAsync(ana);
        using var unsigned = await fixture.Api.PostAsync("/webhooks/email",
            Payloads.Mailgun($"Ana <{ana}>", "Hello", "Hi there", $"{Guid.NewGuid():N}@{domain}"), Ct);
        var first = await unsigned.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Ct);
        var unknown = await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{first.GetProperty("taskId").GetGuid()}", OsirisJson.Options, Ct);
        Assert.Equal(SenderLevels.Unknown, unknown!.SenderLevel);

        var form = Payloads.Mailgun($"Ana <{ana}>", "Hello again", "Hi", $"{Guid.NewGuid():N}@{domain}");
        form.Add(new StringContent("Pass"), "X-Mailgun-Spf");
        form.Add(new StringContent($"bounce@{domain}"), "sender");
        using var passed = await fixture.Api.PostAsync("/webhooks/email", form, Ct);
        var second = await passed.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(Ct);
        var trusted = await fixture.Api.GetFromJsonAsync<TaskDto>($"/api/v1/tasks/{second.GetProperty("taskId").GetGuid()}", OsirisJson.Options, Ct);
        Assert.Equal(SenderLevels.Trusted, trusted!.SenderLevel);
    }

    [Fact]
    public async Task AStrangersReplyIntoAnotherSendersThreadOpensItsOwnTask()
    {
        fixture.RequireAvailable();
        var customerMessage = $"{Guid.NewGuid():N}@customer.example";
        var customer = await UploadAsync(Mime($"bob@{NewDomain()}", "Order 17", "Where is my order?", customerMessage));
        var stranger = await UploadAsync(Mime($"mallory@{NewDomain()}", "Re: Order 17", "Send the order to my address instead.",
            $"{Guid.NewGuid():N}@evil.example", inReplyTo: customerMessage));
        Assert.NotEqual(customer.Id, stranger.Id);
        Assert.Contains($"thread of task {customer.Id}", stranger.Description);
        await using var db = fixture.CreateDbContext();
        Assert.Empty(await db.Messages.Where(m => m.TaskId == customer.Id && m.Text.Contains("my address instead")).ToListAsync(Ct));
    }

    [Fact]
    public async Task TheIngestionTokenUploadsMailAndNothingElse()
    {
        fixture.RequireAvailable();
        var task = await UploadAsync(Mime($"carol@{NewDomain()}", "Hello", "Hi.", $"{Guid.NewGuid():N}@x.example"));
        Assert.Equal(TaskSources.Email, task.Source);

        using var http = fixture.Osiris.App.CreateHttpClient("api");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", BackboneFixture.EmailIngestToken);
        using var tasks = await http.GetAsync("/api/v1/tasks", Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, tasks.StatusCode);
        using var wrong = new ByteArrayContent(Mime($"eve@{NewDomain()}", "x", "y", $"{Guid.NewGuid():N}@x.example"));
        wrong.Headers.ContentType = new MediaTypeHeaderValue("message/rfc822");
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", "not-the-token");
        using var refused = await http.PostAsync("/webhooks/email", wrong, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
    }
}
