import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.h2.H2Backend;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;

/**
 * Serves mongo-java-server on 127.0.0.1 until SIGTERM: in memory, or in one H2 MVStore file.
 *
 * <pre>java -cp ... EmbeddedMongo --port P [--data-file FILE]</pre>
 *
 * <p>mongo-java-server announces at most wire version 8 (MongoDB 5.0 as it names it); pymongo
 * 4.14+ refuses servers below 9. The commands we send are those of MongoDB 4.4+, which the
 * server answers, so it announces the wire version of MongoDB 5.0 (13). Once it listens, it
 * prints one line, "listening on PORT", for the Python side to wait on.
 */
public final class EmbeddedMongo {
    private static final MongoVersion MONGO_5_0_WIRE = new MongoVersion() {
        @Override
        public List<Integer> getVersionArray() {
            return List.of(5, 0, 0);
        }

        @Override
        public int getWireVersion() {
            return 13;
        }
    };

    private EmbeddedMongo() {}

    public static void main(String[] arguments) {
        int port = 0;
        String dataFile = null;
        for (int index = 0; index + 1 < arguments.length; index += 2) {
            switch (arguments[index]) {
                case "--port" -> port = Integer.parseInt(arguments[index + 1]);
                case "--data-file" -> dataFile = arguments[index + 1];
                default -> throw new IllegalArgumentException("unknown option " + arguments[index]);
            }
        }
        MongoBackend backend = dataFile == null ? new MemoryBackend() : new H2Backend(dataFile);
        backend.version(MONGO_5_0_WIRE);
        MongoServer server = new MongoServer(backend);
        server.bind("127.0.0.1", port);
        // SIGTERM runs the shutdown hooks: stop serving, then close the backend (H2 writes its file).
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            server.shutdownNow();
            backend.close();
        }));
        System.out.println("listening on " + server.getLocalAddress().getPort());
        System.out.flush();
    }
}
