using System.Collections.Concurrent;
using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;

namespace EventflowDb.Client;

/// <summary>
/// Maps CLR types to event type names and back, and (de)serializes event payloads with System.Text.Json, so that an
/// application works with its own event classes: <see cref="ToEventData"/> before appending, <see cref="Deserialize"/>
/// after reading. Register every type once at start-up; the map is thread-safe.
/// </summary>
/// <example>
/// <code>
/// [JsonSerializable(typeof(Deposited))]
/// partial class BankJson : JsonSerializerContext;
///
/// var map = new EventTypeMap(BankJson.Default).Add&lt;Deposited&gt;("Deposited");
/// await client.AppendAsync(stream, ExpectedVersion.Any, map.ToEventData(new Deposited(10)));
/// await foreach (var e in client.ReadStreamAsync(stream)) { object payload = map.Deserialize(e); }
/// </code>
/// </example>
public sealed class EventTypeMap
{
    private readonly JsonSerializerOptions _options;
    private readonly ConcurrentDictionary<Type, Entry> _byType = new();
    private readonly ConcurrentDictionary<string, Entry> _byName = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    /// <summary>Creates a map whose types are serialized with the contracts of <paramref name="options"/> (its <c>TypeInfoResolver</c>).</summary>
    /// <param name="options">Serializer options, e.g. a source-generated context's <c>Options</c>.</param>
    public EventTypeMap(JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _options = options;
    }

    /// <summary>Creates a map whose types are serialized with a source-generated context (trimming and native AOT safe).</summary>
    /// <param name="context">The context, e.g. <c>MyJsonContext.Default</c>; it must include every registered type.</param>
    public EventTypeMap(JsonSerializerContext context)
        : this((context ?? throw new ArgumentNullException(nameof(context))).Options)
    {
    }

    /// <summary>Creates a map that serializes by reflection with <see cref="JsonSerializerDefaults.Web"/> (camelCase names).</summary>
    [RequiresUnreferencedCode("Reflection-based JSON serialization; pass a source-generated JsonSerializerContext for trimming.")]
    [RequiresDynamicCode("Reflection-based JSON serialization; pass a source-generated JsonSerializerContext for native AOT.")]
    public EventTypeMap()
        : this(new JsonSerializerOptions(JsonSerializerDefaults.Web) { TypeInfoResolver = new DefaultJsonTypeInfoResolver() })
    {
    }

    /// <summary>Registers <typeparamref name="T"/> under <paramref name="typeName"/>, with its contract from this map's options.</summary>
    /// <typeparam name="T">The event class.</typeparam>
    /// <param name="typeName">The event type name; null: the CLR type's name (<c>typeof(T).Name</c>).</param>
    /// <returns>This map, for chaining.</returns>
    /// <exception cref="ArgumentException">The name or the type is already mapped differently.</exception>
    public EventTypeMap Add<T>(string? typeName = null) => Add(typeof(T), _options.GetTypeInfo(typeof(T)), typeName);

    /// <summary>Registers <typeparamref name="T"/> under <paramref name="typeName"/> with the given contract.</summary>
    /// <typeparam name="T">The event class.</typeparam>
    /// <param name="typeInfo">Its JSON contract, e.g. <c>MyJsonContext.Default.Deposited</c>.</param>
    /// <param name="typeName">The event type name; null: the CLR type's name.</param>
    /// <returns>This map, for chaining.</returns>
    /// <exception cref="ArgumentException">The name or the type is already mapped differently.</exception>
    public EventTypeMap Add<T>(JsonTypeInfo<T> typeInfo, string? typeName = null)
    {
        ArgumentNullException.ThrowIfNull(typeInfo);
        return Add(typeof(T), typeInfo, typeName);
    }

    /// <summary>The event type name of <typeparamref name="T"/>.</summary>
    /// <typeparam name="T">A registered event class.</typeparam>
    /// <returns>The name.</returns>
    /// <exception cref="KeyNotFoundException"><typeparamref name="T"/> is not registered.</exception>
    public string GetTypeName<T>() => GetTypeName(typeof(T));

    /// <summary>The event type name of <paramref name="clrType"/>.</summary>
    /// <param name="clrType">A registered event class.</param>
    /// <returns>The name.</returns>
    /// <exception cref="KeyNotFoundException"><paramref name="clrType"/> is not registered.</exception>
    public string GetTypeName(Type clrType)
    {
        ArgumentNullException.ThrowIfNull(clrType);
        return _byType.TryGetValue(clrType, out var entry)
            ? entry.Name
            : throw new KeyNotFoundException($"The CLR type {clrType.FullName} is not registered in this EventTypeMap.");
    }

    /// <summary>The CLR type registered under an event type name.</summary>
    /// <param name="typeName">The event type name.</param>
    /// <param name="clrType">The CLR type, when registered.</param>
    /// <returns>True when <paramref name="typeName"/> is registered.</returns>
    public bool TryGetClrType(string typeName, [NotNullWhen(true)] out Type? clrType)
    {
        ArgumentNullException.ThrowIfNull(typeName);
        clrType = _byName.TryGetValue(typeName, out var entry) ? entry.ClrType : null;
        return clrType is not null;
    }

    /// <summary>An <see cref="EventData"/> whose type is the registered name of <paramref name="event"/>'s runtime type and whose data is its JSON.</summary>
    /// <param name="event">An instance of a registered event class.</param>
    /// <returns>The event to append; add ids or metadata with <c>with { MessageId = ... }</c>.</returns>
    /// <exception cref="KeyNotFoundException">The runtime type is not registered.</exception>
    public EventData ToEventData(object @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        var type = @event.GetType();
        if (!_byType.TryGetValue(type, out var entry))
        {
            throw new KeyNotFoundException($"The CLR type {type.FullName} is not registered in this EventTypeMap.");
        }

        return new EventData(entry.Name, JsonSerializer.SerializeToUtf8Bytes(@event, entry.TypeInfo));
    }

    /// <summary>Deserializes a stored event into the CLR type registered for its <see cref="RecordedEvent.Type"/>.</summary>
    /// <param name="event">The stored event.</param>
    /// <returns>The payload, an instance of the registered type.</returns>
    /// <exception cref="KeyNotFoundException">No CLR type is registered for the event's type.</exception>
    /// <exception cref="JsonException">The data does not fit the registered type, or is JSON null.</exception>
    /// <exception cref="InvalidOperationException">The event was forgotten (<see cref="RecordedEvent.Forgotten"/>): it has no data any more.</exception>
    public object Deserialize(RecordedEvent @event)
    {
        ArgumentNullException.ThrowIfNull(@event);
        return TryDeserialize(@event, out object? value)
            ? value
            : throw new KeyNotFoundException($"No CLR type is registered for event type '{@event.Type}'.");
    }

    /// <summary>Deserializes a stored event when a CLR type is registered for its type; unknown types are left alone.</summary>
    /// <param name="event">The stored event.</param>
    /// <param name="value">The payload, when the type is registered.</param>
    /// <returns>True when the event's type is registered.</returns>
    /// <exception cref="JsonException">The data does not fit the registered type, or is JSON null.</exception>
    /// <exception cref="InvalidOperationException">The event was forgotten (<see cref="RecordedEvent.Forgotten"/>) and its type is registered.</exception>
    public bool TryDeserialize(RecordedEvent @event, [NotNullWhen(true)] out object? value)
    {
        ArgumentNullException.ThrowIfNull(@event);
        if (!_byName.TryGetValue(@event.Type, out var entry))
        {
            value = null;
            return false;
        }

        @event.ThrowIfForgotten();
        value = JsonSerializer.Deserialize(@event.Data.Span, entry.TypeInfo)
            ?? throw new JsonException($"The data of event {@event.Id} ({@event.Type}) is JSON null.");
        return true;
    }

    private EventTypeMap Add(Type clrType, JsonTypeInfo typeInfo, string? typeName)
    {
        string name = EventData.ValidateType(typeName ?? clrType.Name, nameof(typeName));
        lock (_gate)
        {
            if (_byName.TryGetValue(name, out var byName) && byName.ClrType != clrType)
            {
                throw new ArgumentException($"Event type '{name}' is already mapped to {byName.ClrType.FullName}.", nameof(typeName));
            }

            if (_byType.TryGetValue(clrType, out var byType) && byType.Name != name)
            {
                throw new ArgumentException($"{clrType.FullName} is already mapped to event type '{byType.Name}'.", nameof(typeName));
            }

            var entry = new Entry(name, clrType, typeInfo);
            _byName[name] = entry;
            _byType[clrType] = entry;
        }

        return this;
    }

    private sealed record Entry(string Name, Type ClrType, JsonTypeInfo TypeInfo);
}
