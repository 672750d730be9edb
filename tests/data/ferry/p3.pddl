(define (problem ferry-stuck) (:domain ferry-typed)
  (:objects a - place c1 - car)
  (:init (at-ferry a) (at c1 a))
  (:goal (and (on c1))))
