using Osiris.Shared.Contracts;
using Osiris.Tests.Fixtures;

namespace Osiris.Tests.Web;

/// <summary>Publishes a task's events straight to the event log and Redis, as the agent does.</summary>
public sealed class TaskEvents(BackboneFixture fixture, Guid taskId)
{
    public async Task<OsirisEvent> PublishAsync(string type, object payload)
    {
        await using var db = fixture.CreateDbContext();
        return await fixture.CreatePublisher().PublishAsync(db, type, taskId, payload, TestContext.Current.CancellationToken);
    }

    /// <summary>A tool call and its result with consecutive ids, so that no other call of the running agent comes between.</summary>
    public async Task ToolExchangeAsync(string call, string result)
    {
        await using var db = fixture.CreateDbContext();
        await fixture.CreatePublisher().PublishAsync(db,
        [
            new Osiris.Shared.Events.EventDraft(EventTypes.NewMessage, taskId, new NewMessagePayload(Guid.NewGuid(), "assistant", "tool_call", call, null, true, "offline-echo")),
            new Osiris.Shared.Events.EventDraft(EventTypes.NewMessage, taskId, new NewMessagePayload(Guid.NewGuid(), "tool", "tool_result", result, null, true, null)),
        ], TestContext.Current.CancellationToken);
    }

    public Task<OsirisEvent> DeltaAsync(Guid messageId, string delta, string model = "offline-echo") =>
        PublishAsync(EventTypes.NewMessage, new NewMessagePayload(messageId, "assistant", "text", null, delta, false, model));

    public Task<OsirisEvent> MessageAsync(Guid messageId, string text, string role = "assistant", string kind = "text", string model = "offline-echo") =>
        PublishAsync(EventTypes.NewMessage, new NewMessagePayload(messageId, role, kind, text, null, true, model));
}
