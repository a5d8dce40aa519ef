using Microsoft.AspNetCore.Http.HttpResults;
using Osiris.Api.Audit;
using Osiris.Api.Security;
using Osiris.Api.Validation;
using Osiris.Shared.Contracts;
using Osiris.Shared.Events;
using Osiris.Shared.Storage;

namespace Osiris.Api.Trust;

/// <summary>What senders on public channels may make the agent do: the policy, and one sender's level.</summary>
public static class TrustApi
{
    public static RouteGroupBuilder MapTrustApi(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/v1").RequireRole(Policies.Operator).ValidateRequests().WithTags("Trust");
        group.MapGet("/settings/trust", GetPolicy).RequireRole(Policies.Admin);
        group.MapPut("/settings/trust", SetPolicy).RequireRole(Policies.Admin);
        group.MapPut("/senders/{channel}/{id}", SetSender);
        return group;
    }

    public static async Task<Ok<TrustPolicy>> GetPolicy(OsirisDbContext db, CancellationToken ct) =>
        TypedResults.Ok(await TrustPolicies.ReadAsync(db, ct));

    public static async Task<Ok<TrustPolicy>> SetPolicy(TrustPolicy policy, HttpContext http, OsirisDbContext db, EventPublisher publisher,
        TimeProvider time, CancellationToken ct)
    {
        var normalised = policy with
        {
            Allow = policy.Allow.Select(e => e.Trim().ToLowerInvariant()).Distinct().ToList(),
            Block = policy.Block.Select(e => e.Trim().ToLowerInvariant()).Distinct().ToList(),
        };
        await TrustPolicies.StageAsync(db, normalised, ct);
        AuditLog.Add(db, time, http, AuditActions.TrustPolicy, null, normalised);
        await publisher.PublishAsync(db, EventTypes.SystemNotification, null, new SystemNotificationPayload(NotificationLevels.Info,
            $"Trust policy changed by {AuditLog.Actor(http)}: unknown senders {normalised.Levels.Unknown.ToolMode}, replies {normalised.Levels.Unknown.ReplyMode}; " +
            $"{normalised.Allow.Count} allowed, {normalised.Block.Count} blocked."), ct);
        return TypedResults.Ok(normalised);
    }

    public sealed record SenderLevel(string Channel, string Id, string Level);

    public static async Task<Results<Ok<SenderLevel>, ValidationProblem>> SetSender(string channel, string id, SenderLevelRequest request,
        HttpContext http, OsirisDbContext db, EventPublisher publisher, TimeProvider time, CancellationToken ct)
    {
        if (channel is not (TaskSources.WhatsApp or TaskSources.Email))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["channel"] = ["channel is whatsapp or email."] });
        }
        var entry = TrustPolicy.EntryFor(channel, id);
        var probe = TrustPolicy.Default with { Allow = [entry] };
        if (probe.Validate().ContainsKey("allow") || entry.StartsWith('@'))
        {
            return TypedResults.ValidationProblem(new Dictionary<string, string[]>
            {
                ["id"] = [$"'{id}' is not a {(channel == TaskSources.WhatsApp ? "WhatsApp number" : "e-mail address")}."],
            });
        }
        var policy = TrustPolicies.WithSender(await TrustPolicies.ReadAsync(db, ct), channel, id, request.Level);
        await TrustPolicies.StageAsync(db, policy, ct);
        AuditLog.Add(db, time, http, AuditActions.TrustSender, $"{channel}:{entry}", new { request.Level });
        await publisher.PublishAsync(db, EventTypes.SystemNotification, null, new SystemNotificationPayload(NotificationLevels.Info,
            $"{AuditLog.Actor(http)} marked {entry} ({channel}) {request.Level}."), ct);
        return TypedResults.Ok(new SenderLevel(channel, entry, request.Level));
    }
}
