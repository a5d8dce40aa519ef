using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Identity;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;
using Osiris.Api.Channels;
using Osiris.Api.Security;
using Osiris.Api.Streaming;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;
using StackExchange.Redis;

namespace Osiris.Api.Warmup;

/// <summary>
/// Walks the hot paths once before the replica reports healthy, so that the first webhook after start does not pay
/// for JIT compilation, EF Core's query compilation, connection pools and the first HTTP pipeline run (which cost
/// the first webhook ~0.8–1.7 s before). It runs the intake's queries and inserts in a rolled-back transaction,
/// formats an event frame, pings Redis, runs the sign-in's user query and password hash once, and sends this replica
/// a few harmless requests (a task list read; an unsigned webhook, an invalid task, an unknown session token and an
/// unknown stream ticket, all refused; a stream opened and closed). Nothing is stored or published. <c>/health</c>
/// reports "warming up" until it is done (at most <see cref="Limit"/>); <c>/alive</c> does not wait.
/// </summary>
public sealed class StartupWarmup(
    IServiceScopeFactory scopes,
    Microsoft.AspNetCore.Hosting.Server.IServer server,
    IHostApplicationLifetime lifetime,
    IConnectionMultiplexer redis,
    IOptions<ApiKeyOptions> apiKey,
    TimeProvider time,
    ILogger<StartupWarmup> logger) : BackgroundService, IHealthCheck
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);
    private volatile bool _done;

    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        Task.FromResult(_done ? HealthCheckResult.Healthy() : HealthCheckResult.Unhealthy("Warming up the hot paths"));

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var started = new TaskCompletionSource();
        using (lifetime.ApplicationStarted.Register(() => started.TrySetResult()))
        {
            await started.Task.WaitAsync(stoppingToken);
        }
        var clock = System.Diagnostics.Stopwatch.StartNew();
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        limit.CancelAfter(Limit);
        try
        {
            await WarmStorageAsync(limit.Token);
            await WarmPipelineAsync(limit.Token);
            logger.LogInformation("Hot paths warmed in {Milliseconds} ms", clock.ElapsedMilliseconds);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
        {
            // Warming is an optimisation: a failure costs the first requests some time, never the replica its health.
            logger.LogWarning(ex, "Warming the hot paths failed after {Milliseconds} ms; the first requests will be slower", clock.ElapsedMilliseconds);
        }
        finally
        {
            _done = true;
        }
    }

    private async Task WarmStorageAsync(CancellationToken ct)
    {
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OsirisDbContext>();
            await ChannelIntake.WarmUpAsync(db, scope.ServiceProvider.GetRequiredService<EventPublisher>(), time, ct);
            // The sign-in path: Identity's user query and the password hash (PBKDF2), without signing anyone in.
            var users = scope.ServiceProvider.GetRequiredService<UserManager<OsirisUser>>();
            await users.FindByNameAsync("warm-up-never-a-person");
            var nobody = new OsirisUser { UserName = "warm-up" };
            users.PasswordHasher.VerifyHashedPassword(nobody, users.PasswordHasher.HashPassword(nobody, "warm-up-password"), "warm-up-password");
        }
        await redis.GetDatabase().PingAsync();
        var sample = new OsirisEvent(0, EventTypes.SystemNotification, null, time.GetUtcNow(),
            JsonSerializer.SerializeToElement(new SystemNotificationPayload(NotificationLevels.Info, "warm-up"), OsirisJson.Options));
        SseFrames.Format(sample);
        JsonSerializer.Deserialize<EventEnvelope>(JsonSerializer.SerializeToUtf8Bytes(new EventEnvelope(sample, null, 0), OsirisJson.Options), OsirisJson.Options);
    }

    private async Task WarmPipelineAsync(CancellationToken ct)
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault(a => a.StartsWith("http://", StringComparison.Ordinal));
        if (address is null)
        {
            return; // no plain-HTTP listener to call (a test server): the storage half is done
        }
        var baseAddress = new Uri(address.Replace("://+", "://127.0.0.1").Replace("://*", "://127.0.0.1").Replace("://[::]", "://127.0.0.1"));
        using var http = new HttpClient { BaseAddress = baseAddress };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey.Value.ApiKey);
        // Requests that must carry no credential at all (a default header would be added to them).
        using var anonymous = new HttpClient { BaseAddress = baseAddress };
        (await http.GetAsync("/api/v1/tasks?limit=1", ct)).Dispose();
        (await http.PostAsync("/api/v1/tasks", new StringContent("{}", Encoding.UTF8, "application/json"), ct)).Dispose();
        (await anonymous.PostAsync("/webhooks/whatsapp", new StringContent("{}", Encoding.UTF8, "application/json"), ct)).Dispose();
        // The token lookup and the ticket redemption (both find nothing, so nothing changes).
        using (var unknown = new HttpRequestMessage(HttpMethod.Get, "/api/v1/me"))
        {
            unknown.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "osr_ses_warm-up-never-issued");
            (await anonymous.SendAsync(unknown, ct)).Dispose();
        }
        (await anonymous.GetAsync("/api/v1/stream?ticket=warm-up-never-issued", HttpCompletionOption.ResponseHeadersRead, ct)).Dispose();
        using var stream = await http.GetAsync("/api/v1/stream?types=system_notification", HttpCompletionOption.ResponseHeadersRead, ct);
        await using var body = await stream.Content.ReadAsStreamAsync(ct);
        _ = await body.ReadAsync(new byte[64], ct); // the retry: line, however much of it came; then the stream closes
    }
}
