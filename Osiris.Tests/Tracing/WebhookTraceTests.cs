using System.Net;
using Osiris.Tests.Fixtures;
using Osiris.Tests.Web;
using Osiris.Tests.Webhooks;

namespace Osiris.Tests.Tracing;

/// <summary>
/// The latency promise is proven by traces: one WhatsApp webhook must yield one connected trace, from the API's HTTP
/// request through verification, intake, commit and Redis fan-out, the API's dispatch and SSE write, to the web app
/// applying the event and a dashboard rendering it — exported over OTLP, as the services export to the Aspire dashboard.
/// </summary>
[Collection(EmbeddedBackbone.Name)]
public sealed class WebhookTraceTests(EmbeddedBackboneFixture fixture)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly (string Service, string Name)[] Expected =
    [
        ("api", "osiris.webhook.verify"),
        ("api", "osiris.webhook.intake"),
        ("api", "osiris.event.publish"),
        ("api", "osiris.event.commit"),
        ("api", "osiris.event.fanout"),
        ("api", "osiris.event.dispatch"),
        ("api", "osiris.event.sse_write"),
        ("web", "osiris.web.apply"),
        ("web", "osiris.web.render"),
    ];

    [Fact]
    public async Task OneWebhookYieldsOneConnectedTraceFromTheRequestToTheDashboardsRender()
    {
        await using var chromium = await Chromium.LaunchAsync();
        var page = await chromium.OpenAsync(fixture.Osiris.App.GetEndpoint("web", "http"), "/");
        await Chromium.WaitLiveAsync(page);

        var sentAt = (ulong)((DateTimeOffset.UtcNow - DateTimeOffset.UnixEpoch).Ticks * 100);
        var body = "Traced order " + Guid.NewGuid().ToString("N")[..8];
        var waId = "49" + Random.Shared.NextInt64(1_000_000_000, 9_999_999_999);
        using (var response = await fixture.Api.SendAsync(Payloads.WhatsAppPost(
            Payloads.WhatsAppText("wamid." + Guid.NewGuid().ToString("N"), waId, "Trace Tester", body)), Ct))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        await page.Locator("[data-testid=task-title]", new() { HasTextString = body }).WaitForAsync();

        // Spans leave the services in batches every 200 ms; wait until the whole trace is in.
        List<ReceivedSpan> trace = [];
        var deadline = DateTime.UtcNow.AddSeconds(20);
        while (DateTime.UtcNow < deadline)
        {
            var request = fixture.Osiris.Traces.Spans.FirstOrDefault(s => s.Service == "api" && s.StartNanos >= sentAt
                && s.Name.StartsWith("POST", StringComparison.Ordinal) && s.Name.Contains("webhooks/whatsapp", StringComparison.Ordinal));
            if (request is not null)
            {
                trace = [.. fixture.Osiris.Traces.Spans.Where(s => s.TraceId == request.TraceId)];
                if (Expected.All(e => trace.Any(s => s.Service == e.Service && s.Name == e.Name)))
                {
                    break;
                }
            }
            await Task.Delay(100, Ct);
        }

        var missing = Expected.Where(e => !trace.Any(s => s.Service == e.Service && s.Name == e.Name)).ToList();
        Assert.True(missing.Count == 0, $"The webhook's trace lacks {string.Join(", ", missing.Select(m => $"{m.Service}: {m.Name}"))}; it has " +
            string.Join(", ", trace.Select(s => $"{s.Service}: {s.Name}")));

        // Connected: exactly one root (the HTTP request), every other span's parent is in the same trace.
        var ids = trace.Select(s => s.SpanId).ToHashSet();
        var root = Assert.Single(trace, s => s.ParentSpanId is null || !ids.Contains(s.ParentSpanId));
        Assert.Equal("api", root.Service);
        Assert.Contains("webhooks/whatsapp", root.Name);
        var apply = trace.First(s => s.Name == "osiris.web.apply");
        Assert.Equal("osiris.event.dispatch", trace.Single(s => s.SpanId == apply.ParentSpanId).Name);
        Assert.Equal("task_created", trace.Single(s => s.SpanId == apply.ParentSpanId).Attributes["osiris.event.type"]);

        var end = trace.Max(s => s.EndNanos);
        TestContext.Current.TestOutputHelper?.WriteLine(
            $"One webhook's trace: {trace.Count} spans in 2 services, {(end - root.StartNanos) / 1e6:F1} ms from the request's start to the last span's end " +
            $"(request {root.DurationMs:F1} ms; web app applied the event {(apply.StartNanos - root.StartNanos) / 1e6:F1} ms after the request started)");
        foreach (var span in trace.OrderBy(s => s.StartNanos))
        {
            TestContext.Current.TestOutputHelper?.WriteLine($"  +{(span.StartNanos - root.StartNanos) / 1e6,7:F1} ms {span.DurationMs,7:F1} ms  {span.Service}: {span.Name}");
        }
    }
}
