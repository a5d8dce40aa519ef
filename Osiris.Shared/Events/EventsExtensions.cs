using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Osiris.Shared.Events;

public static class EventsExtensions
{
    public const string RedisConnectionName = "redis";

    /// <summary>Redis (pub/sub) and the <see cref="EventPublisher"/>.</summary>
    public static IHostApplicationBuilder AddOsirisEvents(this IHostApplicationBuilder builder)
    {
        builder.AddRedisClient(RedisConnectionName);
        builder.Services.AddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<EventPublisher>();
        return builder;
    }
}
