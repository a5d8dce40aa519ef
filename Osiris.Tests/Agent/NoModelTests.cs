using System.Net;
using System.Net.Http.Json;
using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Webhooks;

namespace Osiris.Tests.Agent;

/// <summary>The app with the agent on and no model key at all: only the scripted offline brain exists.</summary>
public sealed class NoModelAgentFixture() : BackboneFixture("embedded")
{
    protected override bool AgentEnabled => true;
}

[CollectionDefinition(Name)]
public sealed class NoModelAgent : ICollectionFixture<NoModelAgentFixture>
{
    public const string Name = "Agent without any model";
}

[Collection(NoModelAgent.Name)]
public sealed class NoModelTests(NoModelAgentFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AWhatsAppLeadWaitsForAModelAndNeverGetsAScriptedReply()
    {
        fixture.RequireAvailable();
        var marker = $"quote-{Guid.NewGuid():N}"[..16];
        var from = "49151" + Random.Shared.Next(10_000_000, 99_999_999);
        using var posted = await fixture.Api.SendAsync(Payloads.WhatsAppPost(
            Payloads.WhatsAppText($"wamid.{Guid.NewGuid():N}", from, "Lena", $"Hello, what would 300 units cost? {marker}")), Ct);
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);

        TaskDto? task = null;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (task is null && DateTime.UtcNow < deadline)
        {
            var page = await fixture.Api.GetFromJsonAsync<TaskPage>("/api/v1/tasks?status=paused", OsirisJson.Options, Ct);
            task = page!.Items.FirstOrDefault(t => t.Description.Contains(marker, StringComparison.Ordinal));
            if (task is null)
            {
                await Task.Delay(250, Ct);
            }
        }

        Assert.NotNull(task);
        Assert.Equal((TaskSources.WhatsApp, PauseReasons.NoModel), (task.Source, task.PausedFor));
        Assert.Contains("No model is configured", task.Result);
        await Task.Delay(1000, Ct); // a reply would have gone out by now
        Assert.DoesNotContain(fixture.Graph.Requests, r => r.Body.GetRawText().Contains(from, StringComparison.Ordinal)
            && r.Body.GetRawText().Contains("offline", StringComparison.OrdinalIgnoreCase));
        var events = await fixture.Api.GetFromJsonAsync<List<OsirisEvent>>($"/api/v1/tasks/{task.Id}/events", OsirisJson.Options, Ct);
        Assert.DoesNotContain(events!, e => e.Type == "new_message" && e.Payload.GetProperty("role").GetString() == "assistant");
    }
}
