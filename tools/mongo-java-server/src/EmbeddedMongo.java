import de.bwaldvogel.mongo.MongoBackend;
import de.bwaldvogel.mongo.MongoServer;
import de.bwaldvogel.mongo.MongoVersion;
import de.bwaldvogel.mongo.backend.memory.MemoryBackend;
import java.util.List;

/**
 * Serves mongo-java-server's memory backend on 127.0.0.1 until SIGTERM.
 *
 * <pre>java -cp ... EmbeddedMongo --port P</pre>
 *
 * <p>mongo-java-server announces at most wire version 8 (MongoDB 5.0 as it names it); pymongo
 * 4.14+ refuses servers below 9. The commands we send are those of MongoDB 4.4+, which the
 * server answers, so it announces the wire version of MongoDB 5.0 (13). Once it listens, it
 * prints one line on stdout, "listening on PORT", and nothing else there. What `make run` keeps across restarts is saved and
 * loaded over the wire by adminsite/demo/snapshot.py (the H2 backend was 10-30x slower).
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
        for (int index = 0; index + 1 < arguments.length; index += 2) {
            if (!arguments[index].equals("--port")) {
                throw new IllegalArgumentException("unknown option " + arguments[index]);
            }
            port = Integer.parseInt(arguments[index + 1]);
        }
        MongoBackend backend = new MemoryBackend();
        backend.version(MONGO_5_0_WIRE);
        MongoServer server = new MongoServer(backend);
        try {
            server.bind("127.0.0.1", port);
        } catch (Exception error) { // the port is taken: say so and exit, not serve nothing
            System.err.println("cannot listen on 127.0.0.1:" + port + ": " + error);
            server.shutdownNow();
            System.exit(1);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(server::shutdownNow)); // SIGTERM: stop serving
        System.out.println("listening on " + server.getLocalAddress().getPort());
        System.out.flush();
    }
}
