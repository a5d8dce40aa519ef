using Osiris.Shared.Storage;

var builder = WebApplication.CreateBuilder(args);

builder.AddServiceDefaults();
builder.AddRedisClient("redis");
builder.AddOsirisStorage();

var app = builder.Build();

app.MapDefaultEndpoints();

app.Run();
