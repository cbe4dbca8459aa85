{{ config(materialized='table') }}

select a.author_id,
       a.name,
       count(b.book_id) as books,
       coalesce(sum(b.pages), 0) as pages,
       round(avg(b.price), 2) as average_price
from {{ ref('stg_authors') }} a
left join {{ ref('stg_books') }} b using (author_id)
group by a.author_id, a.name
