using Osiris.Shared.Contracts;
using Osiris.Tests.Infrastructure;

namespace Osiris.Tests.Web;

/// <summary>Publishes a task's events straight to the event log and Redis, as the agent does.</summary>
public sealed class TaskEvents(BackboneFixture fixture, Guid taskId)
{
    public async Task<OsirisEvent> PublishAsync(string type, object payload)
    {
        await using var db = fixture.CreateDbContext();
        return await fixture.CreatePublisher().PublishAsync(db, type, taskId, payload, TestContext.Current.CancellationToken);
    }

    public Task<OsirisEvent> DeltaAsync(Guid messageId, string delta, string model = "offline-echo") =>
        PublishAsync(EventTypes.NewMessage, new NewMessagePayload(messageId, "assistant", "text", null, delta, false, model));

    public Task<OsirisEvent> MessageAsync(Guid messageId, string text, string role = "assistant", string kind = "text", string model = "offline-echo") =>
        PublishAsync(EventTypes.NewMessage, new NewMessagePayload(messageId, role, kind, text, null, true, model));
}
